"""Redis faults while a real server serves real clients: each has its documented outcome.

``docs/redis.md`` (Faults) says what happens; these tests hold a room of
WebSocket clients chatting through the Redis layer while Redis restarts or
stalls, fill a Redis that has a ``maxmemory`` limit, and start a server
whose Redis password is wrong. The layer-level behaviour of each fault is
in ``tests/layers/redis/test_redis_faults.py``; here the question is what
the clients see: they keep their connections, what was lost is counted
exactly, and nothing leaks to them.

Every wait is bounded; Redis is another process, so the timing is real.
"""

from __future__ import annotations

import itertools
import logging
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from _redis_service import RedisServer
from e2e._clients import wait_until
from e2e._server import RunningServer, open_server

from callboard.consumers import connection_statistics
from callboard.exceptions import LayerUnavailableError
from callboard.layers import (
    RedisChannelLayer,
    configure_channel_layers,
    get_channel_layer,
    reset_channel_layers,
)

from ._rawws import Closed, RawWebSocket, Refused, open_raw_websocket
from .apps import application

FAST: dict[str, Any] = {
    "send_timeout": 0.5,
    "connect_timeout": 0.5,
    "reconnect_interval": 0.05,
    "reconnect_max_interval": 0.2,
}
MEMBERS = 8
SPEAK_INTERVAL = 0.02
TIMEOUT = 30.0

_prefixes = itertools.count(1)


def _use_redis(url: str, **options: Any) -> None:
    configure_channel_layers(
        {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [url], "prefix": f"rel{next(_prefixes)}:", **FAST, **options},
            }
        }
    )


@pytest.fixture
def redis_layers() -> Iterator[None]:
    """Whatever ``CHANNEL_LAYERS`` a test configures is undone afterwards."""
    try:
        yield
    finally:
        reset_channel_layers()
        configure_channel_layers(None)


def _layer() -> RedisChannelLayer:
    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    return layer


class Room:
    """``MEMBERS`` clients in one room, each counting what it hears; one of them speaks."""

    def __init__(self) -> None:
        self.heard = [0] * MEMBERS
        self.sent = 0
        self.closed: list[int | None] = []

    async def listen(self, index: int, ws: RawWebSocket) -> None:
        try:
            while True:
                await ws.receive_message()
                self.heard[index] += 1
        except Closed as closed:
            self.closed.append(closed.code)

    async def speak(self, ws: RawWebSocket, stop: trio.Event) -> None:
        while not stop.is_set():
            await ws.send_text(f"m{self.sent}")
            self.sent += 1
            await trio.sleep(SPEAK_INTERVAL)

    async def until_everyone_hears(self, more: int) -> None:
        """Wait until every member has heard ``more`` messages beyond what it has now."""
        targets = [count + more for count in self.heard]
        await wait_until(lambda: all(h >= t for h, t in zip(self.heard, targets, strict=True)))


@asynccontextmanager
async def open_room(server: RunningServer) -> AsyncIterator[Room]:
    """Connect the room's members, start them listening and the first one speaking.

    Lifetime: on exit the speaker stops and every member closes.
    """
    port = int(server.url.rsplit(":", 1)[1])
    room = Room()
    stop = trio.Event()
    async with AsyncExitStack() as stack:
        members = [
            await stack.enter_async_context(open_raw_websocket("127.0.0.1", port, "/ws/room/r/"))
            for _ in range(MEMBERS)
        ]
        async with trio.open_nursery() as nursery:
            for index, ws in enumerate(members):
                nursery.start_soon(room.listen, index, ws)
            nursery.start_soon(room.speak, members[0], stop)
            try:
                yield room
            finally:
                stop.set()
                nursery.cancel_scope.cancel()


async def _through_a_fault(
    server: RunningServer,
    fault: Callable[[], object],
    repair: Callable[[], object],
    during: Callable[[], Awaitable[None]] | None = None,
) -> tuple[Room, Any]:
    """Chat, break Redis with ``fault()``, chat on (and run ``during()``), repair, chat again."""
    async with open_room(server) as room:
        await room.until_everyone_hears(5)
        layer = _layer()
        fault()
        if during is not None:
            await during()
        await wait_until(lambda: not layer.statistics().connected)
        lost_from = layer.statistics().lost_group_sends
        await wait_until(lambda: layer.statistics().lost_group_sends >= lost_from + 5)
        repair()
        await wait_until(lambda: layer.statistics().reconnects >= 1)
        await room.until_everyone_hears(5)
    await wait_until(lambda: room.sent == layer.statistics().group_sends)
    return room, layer.statistics()


def _check_exact(room: Room, stats: Any) -> None:
    # Each message reached every member, or was counted as lost once: nothing in between.
    assert room.closed == []
    assert all(heard == room.sent - stats.lost_group_sends for heard in room.heard), (
        room.heard,
        room.sent,
        stats.lost_group_sends,
    )
    assert connection_statistics().crashes == 0


async def test_a_redis_restart_during_chat_keeps_every_websocket_and_counts_what_was_lost(
    own_redis: RedisServer, redis_layers: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="callboard.layers.redis")
    _use_redis(own_redis.url)
    with trio.fail_after(TIMEOUT):
        async with open_server(application, graceful_timeout=1.0) as server:
            room, stats = await _through_a_fault(server, own_redis.kill, own_redis.start)
    _check_exact(room, stats)
    assert (stats.server_restarts, stats.memberships_restored) == (1, MEMBERS)
    assert "was lost" in caplog.text
    print(
        f"\nredis restart: {room.sent} sent, {stats.lost_group_sends} counted lost, "
        f"each of {MEMBERS} members heard {room.heard[0]}"
    )


async def test_a_stalled_redis_delays_nobody_beyond_send_timeout_and_loses_only_what_it_counts(
    own_redis: RedisServer, redis_layers: None
) -> None:
    _use_redis(own_redis.url)
    answered: list[float] = []
    with trio.fail_after(TIMEOUT):
        async with open_server(application, graceful_timeout=1.0) as server:

            async def ask_while_stalled() -> None:
                # Redis is stopped: the server itself answers at once all the same.
                async with httpx.AsyncClient() as client:
                    for _ in range(5):
                        started = trio.current_time()
                        assert (await client.get(f"{server.url}/stats/")).status_code == 200
                        answered.append(trio.current_time() - started)

            room, stats = await _through_a_fault(
                server, own_redis.pause, own_redis.resume, ask_while_stalled
            )
    _check_exact(room, stats)
    assert stats.server_restarts == 0
    assert max(answered) < FAST["send_timeout"]
    print(
        f"\nredis stalled: {room.sent} sent, {stats.lost_group_sends} counted lost, "
        f"each of {MEMBERS} members heard {room.heard[0]}; HTTP answered in "
        f"{max(answered) * 1000:.0f} ms at most meanwhile"
    )


def _used_memory(server: RedisServer) -> int:
    info = subprocess.run(
        ["redis-cli", "-p", str(server.port), "info", "memory"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return next(
        int(line.split(":")[1]) for line in info.splitlines() if line.startswith("used_memory:")
    )


MAXMEMORY = 4 * 1024 * 1024
BIG = 64 * 1024
"""Bytes per message: ``maxmemory`` is reached within a few dozen."""


async def test_a_full_redis_refuses_sends_clearly_counts_group_losses_and_stays_within_maxmemory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = RedisServer(
        tmp_path, options=["--maxmemory", str(MAXMEMORY), "--maxmemory-policy", "noeviction"]
    ).start()
    try:
        layer = RedisChannelLayer(hosts=[server.url], capacity=10_000, **FAST)
        caplog.set_level(logging.WARNING, logger="callboard.layers.redis")
        async with layer.open():
            local = await layer.new_channel()
            await layer.group_add("room", local)
            await layer.group_add("room", "elsewhere")  # a general channel: a Redis queue
            sent = 0
            with trio.fail_after(TIMEOUT):
                with pytest.raises(LayerUnavailableError, match=r"is out of memory \(OOM"):
                    while True:
                        await layer.send("backlog", {"type": "m", "data": "x" * BIG})
                        sent += 1
                # Group messages: each reaches the queue of the member elsewhere, or is
                # counted as lost (never raised); this process's member gets every one.
                grouped = 0
                while not layer.statistics().lost_group_sends:
                    await layer.group_send("room", {"type": "m", "n": grouped, "data": "x" * BIG})
                    grouped += 1
                assert _used_memory(server) <= MAXMEMORY + 2 * BIG  # it stopped at the limit
                stats = layer.statistics()
                assert (stats.failed_sends, stats.lost_group_sends) == (1, 1)
                assert stats.connected  # Redis answers: the layer is not "down"
                for number in range(grouped):
                    assert (await layer.receive(local))["n"] == number
                for number in range(grouped - 1):
                    assert (await layer.receive("elsewhere"))["n"] == number
                for _ in range(sent // 2):  # readers drain the backlog; room again
                    await layer.receive("backlog")
                await layer.send("backlog", {"type": "m", "data": "fits again"})
            await layer.flush()
    finally:
        server.kill()
    assert "was lost" in caplog.text
    assert "out of memory" in caplog.text
    print(
        f"\nredis maxmemory {MAXMEMORY >> 20} MiB: {sent} sends and {grouped - 1} group sends "
        f"of {BIG >> 10} KiB fitted, then a clear error and one counted loss"
    )


async def test_a_wrong_redis_password_at_start_up_refuses_each_websocket_and_leaks_nothing(
    tmp_path: Path, redis_layers: None, caplog: pytest.LogCaptureFixture
) -> None:
    redis = RedisServer(tmp_path, password="right-secret").start()
    try:
        _use_redis(f"redis://:wrong-secret@127.0.0.1:{redis.port}/0")
        caplog.set_level(logging.INFO)
        with trio.fail_after(TIMEOUT):
            async with open_server(application, graceful_timeout=1.0) as server:
                port = int(server.url.rsplit(":", 1)[1])
                for _ in range(2):  # the next connection tries again, and fails the same way
                    with pytest.raises(Refused) as refused:
                        async with open_raw_websocket("127.0.0.1", port, "/ws/room/r/"):
                            pass
                    assert refused.value.status == 403
                    assert b"secret" not in refused.value.head
                async with httpx.AsyncClient() as client:
                    assert (await client.get(f"{server.url}/stats/")).status_code == 200
    finally:
        redis.kill()
    crashes = [r for r in caplog.records if "crashed" in r.getMessage()]
    assert len(crashes) == 2
    assert all(r.exc_info and isinstance(r.exc_info[1], LayerUnavailableError) for r in crashes)
    assert "refused our credentials" in caplog.text
    assert "redis://:***@127.0.0.1" in caplog.text
    assert "wrong-secret" not in caplog.text
