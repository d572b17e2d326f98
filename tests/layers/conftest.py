"""Fixtures shared by the layer tests: a real redis-server for the whole session."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from _redis_service import RedisServer

_prefixes = itertools.count(1)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server on a free port, its own temporary directory, for the session."""
    server = RedisServer(Path(tmp_path_factory.mktemp("redis"))).start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test uses, so tests sharing the server never see each other."""
    return f"t{next(_prefixes)}:"
