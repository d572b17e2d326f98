"""Presence across two ``callboard serve`` processes on one redis-server, one of them killed.

Three visitors connect to process A, a watcher to process B; B lists all
four and the watcher hears them come. Then A is killed with SIGKILL — no
disconnect handler runs, nothing is cleaned up — and within the presence
timeout plus a heartbeat B no longer lists A's visitors and the watcher hears
them leave.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio
from _redis_service import RedisServer
from trio_websocket import WebSocketConnection

from ._clients import open_websocket
from ._process import PYTHON, open_server_process

SERVE = [
    *(PYTHON, "-m", "callboard", "serve", "tests.e2e.presence_app:application"),
    *("--bind", "127.0.0.1:0", "--graceful-timeout", "1"),
]
VISITORS = ["amy", "ben", "cat"]
HEARTBEAT_INTERVAL = 0.2
PRESENCE_TIMEOUT = 1.0
BOUND = PRESENCE_TIMEOUT + 2 * HEARTBEAT_INTERVAL
"""How long after its process dies a member may still be listed (plus scheduling slack)."""

pytestmark = pytest.mark.slow


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own."""
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.kill()


async def listed(client: httpx.AsyncClient, url: str) -> list[str]:
    response = await client.get(f"{url}/presence/lobby/")
    assert response.status_code == 200
    names: list[str] = response.json()
    return names


async def changes(ws: WebSocketConnection, until: set[str], key: str) -> set[str]:
    """Read ``{"joined", "left"}`` diffs until every name in ``until`` appeared under ``key``."""
    seen: set[str] = set()
    while not until <= seen:
        seen.update(json.loads(await ws.get_message())[key])
    return seen


async def test_a_killed_process_s_members_vanish_within_the_bound(redis: RedisServer) -> None:
    env = {
        "CALLBOARD_TEST_REDIS_URL": redis.url,
        "CALLBOARD_TEST_REDIS_PREFIX": "presence:",
        "CALLBOARD_TEST_PRESENCE_HEARTBEAT": str(HEARTBEAT_INTERVAL),
        "CALLBOARD_TEST_PRESENCE_TIMEOUT": str(PRESENCE_TIMEOUT),
    }
    async with (
        open_server_process(SERVE, env=env) as doomed,
        open_server_process(SERVE, env=env) as survivor,
        httpx.AsyncClient() as client,
        open_websocket(survivor.url, "/ws/room/lobby/?watcher") as watcher,
    ):
        with trio.fail_after(20):
            assert json.loads(await watcher.get_message()) == {"here": ["watcher"]}
            async with trio.open_nursery() as nursery:
                sockets: list[WebSocketConnection] = []

                async def visit(name: str) -> None:
                    async with open_websocket(doomed.url, f"/ws/room/lobby/?{name}") as ws:
                        sockets.append(ws)
                        await ws.get_message()  # {"here": [...]}
                        await trio.sleep_forever()  # until the process dies under it

                for name in VISITORS:
                    nursery.start_soon(visit, name)
                assert await changes(watcher, set(VISITORS), "joined") >= set(VISITORS)
                assert await listed(client, survivor.url) == sorted([*VISITORS, "watcher"])
                assert await listed(client, doomed.url) == sorted([*VISITORS, "watcher"])

                doomed.signal(signal.SIGKILL)
                killed = trio.current_time()
                with trio.fail_after(BOUND + 1.0):
                    assert await changes(watcher, set(VISITORS), "left") == set(VISITORS)
                noticed = trio.current_time() - killed
                assert await listed(client, survivor.url) == ["watcher"]
                nursery.cancel_scope.cancel()
        assert noticed <= BOUND + 1.0
        assert await doomed.wait() == -signal.SIGKILL
