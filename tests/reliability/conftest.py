"""Fixtures and knobs of the reliability suite.

Heavy scenarios are marked ``soak`` and always run; their size comes from
the environment, small by default (CI) and large when asked for locally:

- ``CALLBOARD_SOAK_SECONDS``: how long the sustained chat load runs (default 8).
- ``CALLBOARD_RELIABILITY_CONNECTIONS``: connections held at once and opened
  in a burst (default 10,000).

``CALLBOARD_SOAK_SECONDS=600 .venv/bin/pytest -m soak tests/reliability`` is
the long local run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from _redis_service import RedisServer

from ._measure import raise_fd_limit

SOAK_SECONDS = float(os.environ.get("CALLBOARD_SOAK_SECONDS", "8"))
"""Seconds of sustained load in the soak test."""
CONNECTIONS = int(os.environ.get("CALLBOARD_RELIABILITY_CONNECTIONS", "10000"))
"""Connections the load tests hold at once, and open and close in a burst."""


@pytest.fixture
def fd_limit() -> int:
    """Raise the descriptor limit as far as allowed; return it.

    Raises:
        pytest.fail: the hard limit cannot hold what ``CONNECTIONS`` needs.
    """
    needed = 2 * CONNECTIONS + 1000
    limit = raise_fd_limit(needed)
    if limit < CONNECTIONS + 500:
        pytest.fail(
            f"RLIMIT_NOFILE allows {limit} descriptors; {CONNECTIONS} connections need "
            f"{CONNECTIONS + 500}. Raise the hard limit (ulimit -Hn) or lower "
            "CALLBOARD_RELIABILITY_CONNECTIONS."
        )
    return limit


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, to restart, stall or fill."""
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.kill()
