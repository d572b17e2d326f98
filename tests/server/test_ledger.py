"""The shutdown ledger: one INFO record that says what a graceful shutdown delivered and lost."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import pytest
import trio
from django.urls import path
from e2e._clients import close_code, open_websocket
from e2e._server import open_server

from callboard.consumers import AsyncWebsocketConsumer
from callboard.layers import get_channel_layer
from callboard.routing import ProtocolTypeRouter, URLRouter
from callboard.server import ServerConfig, ShutdownLedger, serve


class Relay(AsyncWebsocketConsumer):
    """Relays the room's messages; answers "ready" once it is in the room."""

    groups = ["room"]  # Channels' class attribute

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=text_data)

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


class Stubborn(Relay):
    """Stuck in its first room message: cancelled when the grace runs out."""

    async def chat_message(self, event: dict[str, Any]) -> None:
        await trio.sleep_forever()


def application() -> ProtocolTypeRouter:
    return ProtocolTypeRouter(
        {
            "websocket": URLRouter(
                [path("ws/relay/", Relay.as_asgi()), path("ws/stubborn/", Stubborn.as_asgi())]
            )
        }
    )


def the_ledger(caplog: pytest.LogCaptureFixture) -> ShutdownLedger:
    (record,) = [r for r in caplog.records if hasattr(r, "ledger")]
    assert record.levelno == logging.INFO
    assert record.name == "callboard.server"
    ledger: ShutdownLedger = record.ledger  # type: ignore[attr-defined]  # the record's extra
    assert record.getMessage() == ledger.describe()
    return ledger


async def test_the_ledger_adds_up_closed_cancelled_delivered_and_discarded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "callboard.server")
    async with (
        open_server(application(), graceful_timeout=0.5, close_timeout=0.5) as server,
        open_websocket(server.url, "/ws/relay/") as first,
        open_websocket(server.url, "/ws/relay/") as second,
        open_websocket(server.url, "/ws/stubborn/") as stubborn,
    ):
        for ws in (first, second, stubborn):
            await ws.send_message("ready")
            assert await ws.get_message() == "ready"
        for n in range(3):
            await get_channel_layer().group_send("room", {"type": "chat.message", "text": str(n)})
        server.shutdown()
        with trio.fail_after(5):
            for ws in (first, second):
                assert [await ws.get_message() for _ in range(3)] == ["0", "1", "2"]
                assert await close_code(ws) == 1001
            await server.wait_stopped()
    ledger = the_ledger(caplog)
    assert (ledger.connections, ledger.closed_gracefully, ledger.cancelled) == (3, 2, 1)
    assert ledger.ended_otherwise == 0
    assert ledger.disconnects == 2
    # The stuck consumer's other two room messages were still queued when it was cancelled.
    assert ledger.undelivered == {
        "dropped_newest": 0,
        "dropped_oldest": 0,
        "rejected": 0,
        "overflowed": 0,
        "expired": 0,
        "discarded": 2,
    }
    assert ledger.delivered >= ledger.disconnects
    assert ledger.queued + ledger.offered == (
        ledger.delivered + ledger.undelivered_total + ledger.still_queued
    )
    assert ledger.grace == 0.5
    assert "3 connection(s): 2 closed with 1001 and acknowledged" in caplog.text


async def test_a_cancelled_server_logs_no_ledger(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "callboard.server")
    config = ServerConfig(bind=("127.0.0.1:0",))
    never = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(partial(serve, application(), config, shutdown_trigger=never.wait))
        nursery.cancel_scope.cancel()
    assert not [r for r in caplog.records if hasattr(r, "ledger")]
