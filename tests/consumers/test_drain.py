"""Draining on shutdown: a consumer handles what its mailbox holds, then closes with 1001."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from callboard.actors import current_registry
from callboard.consumers import AsyncWebsocketConsumer, WebsocketConsumer, connection_statistics
from callboard.layers import get_channel_layer
from callboard.testing import WebsocketCommunicator

from ._helpers import running_supervisor


class Relay(AsyncWebsocketConsumer):
    """Relays the room's messages to its client; notes its disconnect."""

    groups = ["room"]  # Channels' class attribute
    record: list[Any] | None = None

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])

    async def disconnect(self, code: int) -> None:
        assert self.record is not None
        self.record.append(("disconnect", code))


class SyncRelay(WebsocketConsumer):
    """The same, with handlers in worker threads."""

    groups = ["room"]

    def chat_message(self, event: dict[str, Any]) -> None:
        self.send(text_data=event["text"])


async def test_queued_messages_are_delivered_before_the_1001_close() -> None:
    record: list[Any] = []
    async with (
        running_supervisor() as supervisor,
        WebsocketCommunicator(Relay.as_asgi(record=record), "/") as comm,
    ):
        await comm.connect()
        layer = get_channel_layer()
        for n in range(5):
            await layer.group_send("room", {"type": "chat.message", "text": str(n)})
        supervisor.request_stop()  # the five are still queued
        for n in range(5):
            assert await comm.receive_from() == str(n)
        assert await comm.receive_output() == {"type": "websocket.close", "code": 1001}
        await comm.disconnect(code=1000)  # the client's answer: the closing handshake is complete
    assert record == [("disconnect", 1000)]
    stats = connection_statistics()
    assert (stats.shutdown_closes, stats.shutdown_acknowledged) == (1, 1)
    assert current_registry().mailbox_totals().undelivered == 0


async def test_a_sync_consumer_drains_from_its_threads() -> None:
    async with (
        running_supervisor() as supervisor,
        WebsocketCommunicator(SyncRelay.as_asgi(), "/") as comm,
    ):
        await comm.connect()
        for n in range(3):
            await get_channel_layer().group_send("room", {"type": "chat.message", "text": str(n)})
        supervisor.request_stop()
        assert [await comm.receive_from() for _ in range(3)] == ["0", "1", "2"]
        assert await comm.receive_output() == {"type": "websocket.close", "code": 1001}
        await comm.disconnect(code=1000)


async def test_what_arrives_after_the_close_is_counted_not_delivered(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with (
        running_supervisor() as supervisor,
        WebsocketCommunicator(Relay.as_asgi(record=[]), "/") as comm,
    ):
        await comm.connect()
        supervisor.request_stop()
        assert await comm.receive_output() == {"type": "websocket.close", "code": 1001}
        # A message sent after the close reaches a consumer whose client is leaving:
        # its handler runs, but the frame is dropped (the connection is closed).
        await get_channel_layer().group_send("room", {"type": "chat.message", "text": "late"})
        assert await comm.receive_nothing()
        await comm.disconnect(code=1000)
    assert connection_statistics().shutdown_acknowledged == 1


async def test_a_client_that_never_answers_the_close_is_not_acknowledged(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with running_supervisor() as supervisor:
        async with WebsocketCommunicator(Relay.as_asgi(record=[]), "/") as comm:
            await comm.connect()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(supervisor.shutdown, 1.0)
                assert await comm.receive_output() == {"type": "websocket.close", "code": 1001}
            # the grace ran out: the consumer was cancelled
        assert supervisor.statistics().cancelled == 1
    stats = connection_statistics()
    assert (stats.shutdown_closes, stats.shutdown_acknowledged) == (1, 0)
