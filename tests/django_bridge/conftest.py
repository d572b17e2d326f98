"""Django for ``tests/django_bridge`` only: the sample project, its databases, and DB markers.

Why not pytest-django: it configures Django for the whole session at
start-up (the rest of the suite must run without Django settings), its
async support assumes asyncio, and it cannot start PostgreSQL for us. What
these tests need is small and lives here:

- A package-scoped fixture starts a PostgreSQL cluster (``_postgres``) when its
  binaries exist, points the sample project at it and at a temporary SQLite
  file, runs ``django.setup()`` and creates the test databases; at the end of
  the package it drops them, stops the cluster and undoes the Trio support,
  so later test packages see callboard without Django.
- ``@pytest.mark.django_db(transaction=True)``: real commits, every database
  flushed after the test (pytest-django's ``transactional_db``).
- ``@pytest.mark.django_db``: the test runs inside a transaction on each
  database, rolled back afterwards, with ``share_connections()`` so that
  worker threads see it (pytest-django's ``db`` plus what callboard needs).
- ``db_alias``: ``"default"`` (SQLite) and ``"postgres"``; the latter is
  skipped, saying why, only when the PostgreSQL binaries are missing and
  ``CALLBOARD_REQUIRE_SERVICES`` is unset.

Django models are imported inside tests and fixtures: importing them at
collection time would need Django set up for the whole session.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import _postgres

TESTS = str(Path(__file__).resolve().parent.parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

_state: dict[str, Any] = {}


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("django"):
        raise pytest.UsageError(
            "pytest-django is installed: it would configure Django for the whole suite. "
            "tests/django_bridge/conftest.py sets Django up for this package itself."
        )
    config.addinivalue_line(
        "markers",
        "django_db(transaction=False): database access; transaction=True commits and flushes",
    )


def _start_postgres() -> str | None:
    """Start the cluster; return a skip reason instead when it cannot be had."""
    bindir = _postgres.find_binaries()
    if bindir is None:
        reason = (
            "PostgreSQL binaries (initdb, pg_ctl) not found on PATH or in "
            "/usr/lib/postgresql/*/bin; install Debian's postgresql package"
        )
        if os.environ.get(_postgres.REQUIRE_SERVICES):
            pytest.fail(f"{reason} ({_postgres.REQUIRE_SERVICES} is set)", pytrace=False)
        return reason
    cluster = _postgres.start_cluster(bindir)
    _state["cluster"] = cluster
    return None


@pytest.fixture(scope="package", autouse=True)
def django_project() -> Iterator[None]:
    """Set up the sample project and its test databases for this package."""
    import django
    from django.test.utils import setup_databases, teardown_databases

    saved = {
        key: os.environ.get(key)
        for key in ("DJANGO_SETTINGS_MODULE", "CALLBOARD_TEST_SQLITE", "CALLBOARD_TEST_POSTGRES")
    }
    workdir = tempfile.mkdtemp(prefix="callboard-django-")
    _state["postgres_skip"] = _start_postgres()
    cluster = _state.get("cluster")
    os.environ["DJANGO_SETTINGS_MODULE"] = "django_project.settings"
    os.environ["CALLBOARD_TEST_SQLITE"] = os.path.join(workdir, "db.sqlite3")
    if cluster is not None:
        os.environ["CALLBOARD_TEST_POSTGRES"] = f"{cluster.host}:{cluster.port}"
    _state["workdir"] = workdir
    try:
        django.setup()
        old_config = setup_databases(verbosity=0, interactive=False)
        try:
            yield
        finally:
            _close_all_connections()
            teardown_databases(old_config, verbosity=0)
    finally:
        from callboard.django_bridge import uninstall_trio_support
        from callboard.layers import reset_channel_layers

        uninstall_trio_support()
        reset_channel_layers()
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _close_all_connections() -> None:
    from django.db import connections

    from callboard.django_bridge import close_pooled_connections

    close_pooled_connections()
    for connection in connections.all(initialized_only=True):
        connection.close()


@pytest.fixture
def project_dir() -> str:
    """The directory holding the sample project's SQLite file."""
    return str(_state["workdir"])


@pytest.fixture(params=["default", "postgres"])
def db_alias(request: pytest.FixtureRequest) -> str:
    """The database the test runs against: SQLite, then PostgreSQL."""
    alias: str = request.param
    if alias == "postgres" and _state.get("postgres_skip"):
        pytest.skip(str(_state["postgres_skip"]))
    return alias


@pytest.fixture(autouse=True)
def _django_db_marker(request: pytest.FixtureRequest) -> Iterator[None]:
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        yield
        return
    from django.db import connections

    aliases = list(connections)
    if marker.kwargs.get("transaction", False):
        try:
            yield
        finally:
            _flush(aliases)
        return
    from django.db import transaction

    from callboard.django_bridge import share_connections

    blocks = [transaction.atomic(using=alias) for alias in aliases]
    for block in blocks:
        block.__enter__()
    try:
        with share_connections():
            yield
    finally:
        for alias, block in zip(reversed(aliases), reversed(blocks), strict=True):
            transaction.set_rollback(True, using=alias)
            block.__exit__(None, None, None)


def _flush(aliases: list[str]) -> None:
    from django.core.management import call_command

    from callboard.django_bridge import close_pooled_connections

    close_pooled_connections()
    for alias in aliases:
        call_command(
            "flush",
            verbosity=0,
            interactive=False,
            database=alias,
            reset_sequences=False,
            inhibit_post_migrate=True,
        )
