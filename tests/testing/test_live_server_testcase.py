"""ChannelsLiveServerTestCase runs a project's Django tests on SQLite (memory, file) and PostgreSQL.

The test cases are ``live_project/tests.py``: real clients (httpx,
trio-websocket) against the sample project's consumers and views, static
files, the test's thread sending to consumers through the channel layer, and
the class's life cycle (the server stops, its port and thread go, a failing
set-up undoes itself). They run as a project runs its tests —
``python -m django test``, Django's runner making the test database — in a
subprocess per database, so that Django's settings of one run never meet
another's, nor the rest of this suite (which runs without Django settings).

The PostgreSQL run needs the suite's throwaway cluster (``django_bridge._postgres``):
skipped without the binaries, failed instead under ``CALLBOARD_REQUIRE_SERVICES``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django_bridge import _postgres

TESTS = Path(__file__).resolve().parent.parent
"""``tests/``: the subprocess's working directory, so ``django_project`` and ``testing`` import."""
RUN_TIMEOUT = 120.0
"""Seconds one run of Django's test runner gets (it takes a few)."""
EXPECTED = {
    "DatabaseOverWebSocketTests": [
        "test_a_consumer_reads_what_the_test_wrote_and_the_test_reads_what_it_wrote",
        "test_each_test_starts_with_empty_tables",
        "test_the_async_orm_works_in_a_consumer",
    ],
    "ChannelLayerTests": [
        "test_the_test_thread_reaches_the_server_s_consumers_through_the_channel_layer",
    ],
    "HttpTests": [
        "test_a_django_view_is_served_and_writes_to_the_test_database",
        "test_static_files_are_served",
        "test_the_host_is_an_allowed_host_while_the_server_runs",
        "test_the_urls_name_the_host_and_the_port_it_listens_on",
    ],
    "NoStaticFilesTests": ["test_static_files_are_not_served"],
    "LifeCycleTests": [
        "test_a_busy_port_is_an_oserror",
        "test_a_failing_set_up_undoes_itself",
        "test_tear_down_closes_open_websockets_with_1001",
        "test_tear_down_stops_the_server_and_frees_its_port",
        "test_the_urls_say_they_come_with_the_server",
    ],
}
"""Every test case of ``live_project/tests.py``, each of which must report ``ok``."""


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """``host:port`` of a throwaway PostgreSQL cluster for this module."""
    bindir = _postgres.find_binaries()
    if bindir is None:
        reason = "PostgreSQL binaries (initdb, pg_ctl) not found; install Debian's postgresql"
        if os.environ.get(_postgres.REQUIRE_SERVICES):
            pytest.fail(f"{reason} ({_postgres.REQUIRE_SERVICES} is set)", pytrace=False)
        pytest.skip(reason)
    cluster = _postgres.start_cluster(bindir)
    try:
        yield f"{cluster.host}:{cluster.port}"
    finally:
        cluster.stop()


def run_live_project(database: str, **variables: str) -> str:
    """Run ``live_project``'s tests with Django's runner on ``database``; return the output.

    Raises:
        AssertionError: the run failed (its output attached).
    """
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(CALLBOARD_LIVE_DATABASE=database, PYTHONUNBUFFERED="1", **variables)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "test",
            "testing.live_project.tests",
            "--settings=testing.live_project.settings",
            "--noinput",
            "--verbosity=2",
        ],
        cwd=TESTS,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert done.returncode == 0, done.stdout
    return done.stdout


def assert_every_test_passed(output: str) -> None:
    count = sum(len(names) for names in EXPECTED.values())
    assert re.search(rf"^Ran {count} tests in ", output, re.MULTILINE), output
    for case, names in EXPECTED.items():
        for name in names:
            # The server's "Running on ..." line may come between a test's name and its "ok".
            passed = rf"\(testing\.live_project\.tests\.{case}\.{name}\) \.\.\. (.*\n)?ok$"
            assert re.search(passed, output, re.MULTILINE), output
    assert "Traceback" not in output, output
    assert "Exception ignored" not in output, output


def test_it_serves_a_projects_tests_on_an_in_memory_sqlite_test_database(tmp_path: Path) -> None:
    output = run_live_project("sqlite-memory", CALLBOARD_LIVE_DIR=str(tmp_path))

    assert_every_test_passed(output)
    assert "for alias 'default' ('file:memorydb_default?mode=memory&cache=shared')" in output


def test_it_serves_a_projects_tests_on_a_sqlite_file_test_database(tmp_path: Path) -> None:
    output = run_live_project("sqlite-file", CALLBOARD_LIVE_DIR=str(tmp_path))

    assert_every_test_passed(output)
    assert f"for alias 'default' ('{tmp_path / 'test.sqlite3'}')" in output


def test_it_serves_a_projects_tests_on_a_postgresql_test_database(postgres: str) -> None:
    output = run_live_project("postgresql", CALLBOARD_TEST_POSTGRES=postgres)

    assert_every_test_passed(output)
    assert "for alias 'default' ('test_callboard_live')" in output
    assert "Destroying test database for alias 'default' ('test_callboard_live')" in output
