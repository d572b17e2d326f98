"""Faults with a real redis-server of the test's own: bad address or password, stalls, restarts.

Timing here is real (the server is another process); every wait is bounded.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import anyio
import pytest
import trio
import trio.testing
from _redis_service import RedisServer, free_port

from callboard.actors import Actor
from callboard.exceptions import LayerUnavailableError
from callboard.layers import RedisChannelLayer, RedisPubSubChannelLayer

FAST = {
    "send_timeout": 0.5,
    "connect_timeout": 0.5,
    "reconnect_interval": 0.05,
    "reconnect_max_interval": 0.2,
}


class Recorder(Actor):
    """Keeps what its ``chat.message`` handler saw."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.arrived = trio.Event()

    async def chat_message(self, message: dict[str, Any]) -> None:
        self.seen.append(message["n"])
        self.arrived.set()


async def _until(predicate: Any) -> None:
    """Wait (bounded) for a state the other process (redis-server) brings about."""
    with anyio.fail_after(10):
        while not predicate():  # noqa: ASYNC110  # no event to wait on: the cause is another process
            await anyio.sleep(0.02)


async def test_wrong_address_at_start_up_names_the_host() -> None:
    port = free_port()
    layer = RedisChannelLayer(hosts=[f"redis://127.0.0.1:{port}/0"], **FAST)
    with pytest.raises(
        LayerUnavailableError,
        match=rf"Redis at redis://127.0.0.1:{port}/0 \(hosts\[0\]\) could not be reached",
    ):
        async with layer.open():
            pass


async def test_wrong_password_at_start_up_names_the_host(tmp_path: Path) -> None:
    server = RedisServer(tmp_path, password="right").start()
    try:
        layer = RedisChannelLayer(hosts=[f"redis://:wrong@127.0.0.1:{server.port}/0"], **FAST)
        with pytest.raises(
            LayerUnavailableError,
            match=r"redis://:\*\*\*@127.0.0.1:\d+/0 \(hosts\[0\]\) refused our credentials",
        ):
            async with layer.open():
                pass
    finally:
        server.kill()


async def test_stalled_redis_makes_send_fail_clearly_then_recovers(own_server: RedisServer) -> None:
    layer = RedisChannelLayer(hosts=[own_server.url], **FAST)
    async with layer.open():
        own_server.pause()
        try:
            started = anyio.current_time()
            with pytest.raises(LayerUnavailableError, match=r"did not answer within 0.5 s"):
                await layer.send("jobs", {"type": "m"})
            assert anyio.current_time() - started < 2
            with pytest.raises(LayerUnavailableError, match="unavailable for"):
                await layer.send("jobs", {"type": "m"})  # fails fast while down
        finally:
            own_server.resume()
        await _until(lambda: layer.statistics().connected)
        await layer.send("jobs", {"type": "m"})
    stats = layer.statistics()
    assert (stats.failed_sends, stats.disconnects, stats.reconnects) == (2, 1, 1)


async def test_restarted_redis_gets_memberships_back_and_losses_are_counted(
    own_server: RedisServer, nursery: Any, caplog: pytest.LogCaptureFixture
) -> None:
    layer = RedisChannelLayer(hosts=[own_server.url], **FAST)
    async with layer.open():
        actor = Recorder()
        nursery.start_soon(actor.run)
        await trio.testing.wait_all_tasks_blocked()
        assert actor.address is not None
        await layer.group_add("room", actor.address)
        own_server.kill()
        with caplog.at_level(logging.WARNING, "callboard.layers.redis"):
            await _until(lambda: not layer.statistics().connected)
            await layer.group_send("room", {"type": "chat.message", "n": 1})  # lost, not raised
            own_server.start()
            await _until(lambda: layer.statistics().reconnects == 1)
        stats = layer.statistics()
        assert (stats.lost_group_sends, stats.server_restarts, stats.memberships_restored) == (
            1,
            1,
            1,
        )
        assert "lost 1 group message(s)" in caplog.text
        # Another process (a short-lived connection) reaches the restored member.
        sender = RedisChannelLayer(hosts=[own_server.url], prefix=layer.prefix)
        await sender.group_send("room", {"type": "chat.message", "n": 2})
        with anyio.fail_after(5):
            await actor.arrived.wait()
        assert actor.seen == [2]
        actor.request_stop()


async def test_pubsub_layer_reports_disconnect_and_reconnect(own_server: RedisServer) -> None:
    events: list[str] = []
    layer = RedisPubSubChannelLayer(
        hosts=[own_server.url],
        on_disconnect=lambda: events.append("disconnect"),
        on_reconnect=lambda: events.append("reconnect"),
        **FAST,
    )
    async with layer.open():
        channel = await layer.new_channel()
        await layer.group_add("room", channel)
        own_server.kill()
        await _until(lambda: events == ["disconnect"])
        own_server.start()
        await _until(lambda: events == ["disconnect", "reconnect"])
        await layer.group_send("room", {"type": "m"})  # resubscribed before on_reconnect
        with anyio.fail_after(5):
            assert await layer.receive(channel) == {"type": "m"}
