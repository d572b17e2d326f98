# The README's commands. Each target creates .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: test lint demo bench format clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,lint,redis]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check callboard tests examples
	$(PY) -m ruff format --check callboard tests examples
	$(PY) -m mypy

format: $(STAMP)
	$(PY) -m ruff format callboard tests examples
	$(PY) -m ruff check --fix callboard tests examples

# The example chat site (examples/chat/README.md): SQLite (examples/chat/db.sqlite3) and the
# in-memory layer; REDIS_URL=redis://... selects Redis. Another port: make demo DEMO_ADDR=127.0.0.1:8080
DEMO_ADDR ?= 127.0.0.1:8000
DEMO_MANAGE := $(PY) examples/chat/manage.py

demo: $(STAMP)
	$(DEMO_MANAGE) migrate --noinput --verbosity 0
	@$(DEMO_MANAGE) demo_users
	@echo
	@echo "    The chat is at http://$(DEMO_ADDR)/chat/  (Ctrl-C stops it)"
	@echo
	$(DEMO_MANAGE) runserver $(DEMO_ADDR)

# The benchmark suite (bench/README.md). Its extra packages (Channels, daphne, uvicorn,
# channels_redis, psutil, uvloop, py-spy) are installed once per pyproject.toml version.
# Options go through BENCH_ARGS, e.g. `make bench BENCH_ARGS=--quick`.
BENCH_ARGS ?=
BENCH_STAMP := $(VENV)/.bench-installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	rm -f $(VENV)/.bench-installed-*
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
