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
	$(PY) -m ruff check callboard tests
	$(PY) -m ruff format --check callboard tests
	$(PY) -m mypy

format: $(STAMP)
	$(PY) -m ruff format callboard tests
	$(PY) -m ruff check --fix callboard tests

demo: $(STAMP)
	@echo "The example chat site is coming with issue 8 (examples/chat)."

bench: $(STAMP)
	@echo "The benchmark suite is coming with issue 4 (bench/)."

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
