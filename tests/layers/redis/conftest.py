"""Fixtures for the Redis layer tests: layers on the shared server, own servers for faults."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _redis_service import RedisServer

from callboard.layers import RedisChannelLayer


@pytest.fixture
def make_layer(redis_server: RedisServer, redis_prefix: str) -> Callable[..., RedisChannelLayer]:
    """Build a RedisChannelLayer on the session's server with this test's prefix."""

    def make(**options: Any) -> RedisChannelLayer:
        options.setdefault("hosts", [redis_server.url])
        options.setdefault("prefix", redis_prefix)
        return RedisChannelLayer(**options)

    return make


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, to kill, pause or restart."""
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.kill()
