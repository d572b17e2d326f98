"""Draining shutdown under load: 1,000 real clients, messages in flight, one ledger that adds up.

The server and the clients share this test's Trio run (``open_server``). Every
client is in one group; three group messages are sent and the shutdown is
triggered at once, while they still sit in the consumers' mailboxes. Each
client must get all three, then a 1001 close; every disconnect handler runs;
the ledger counts 1,000 connections closed gracefully and nothing lost.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from typing import Any

import pytest
import trio
from django.urls import path
from trio_websocket import ConnectionClosed, WebSocketConnection

from callboard.consumers import AsyncWebsocketConsumer
from callboard.layers import get_channel_layer
from callboard.routing import ProtocolTypeRouter, URLRouter
from callboard.server import ShutdownLedger

from ._clients import open_websocket
from ._server import open_server

CLIENTS = 1000
MESSAGES = 3
HANDSHAKES_AT_ONCE = 50
"""Clients connecting at the same moment: more would overflow the listen backlog (100)."""

pytestmark = pytest.mark.slow


class Everyone(AsyncWebsocketConsumer):
    """In the one group; relays its messages; counts its disconnects."""

    groups = ["everyone"]  # Channels' class attribute
    disconnects: list[int] | None = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=text_data)  # "ready": the client is in the group

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])

    async def disconnect(self, code: int) -> None:
        assert self.disconnects is not None
        self.disconnects.append(code)


async def client(
    url: str,
    handshakes: trio.CapacityLimiter,
    connected: trio.Semaphore,
    outcomes: list[tuple[list[str], int | None]],
) -> None:
    async with AsyncExitStack() as stack:
        async with handshakes:
            ws = await stack.enter_async_context(open_websocket(url, "/ws/"))
            await ws.send_message("ready")
            assert await ws.get_message() == "ready"
        connected.release()
        outcomes.append(await read_until_closed(ws))


async def read_until_closed(ws: WebSocketConnection) -> tuple[list[str], int | None]:
    received: list[str] = []
    while True:
        try:
            received.append(str(await ws.get_message()))
        except ConnectionClosed as closed:
            return received, closed.reason.code if closed.reason is not None else None


async def test_1000_clients_get_what_was_queued_then_1001_and_the_ledger_adds_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "callboard.server")
    disconnects: list[int] = []
    outcomes: list[tuple[list[str], int | None]] = []
    app = ProtocolTypeRouter(
        {"websocket": URLRouter([path("ws/", Everyone.as_asgi(disconnects=disconnects))])}
    )
    connected = trio.Semaphore(0, max_value=CLIENTS)
    handshakes = trio.CapacityLimiter(HANDSHAKES_AT_ONCE)
    with trio.fail_after(60):
        async with open_server(app, graceful_timeout=10.0) as server:
            async with trio.open_nursery() as clients:
                for _ in range(CLIENTS):
                    clients.start_soon(client, server.url, handshakes, connected, outcomes)
                for _ in range(CLIENTS):
                    await connected.acquire()
                layer = get_channel_layer()
                for n in range(MESSAGES):
                    await layer.group_send("everyone", {"type": "chat.message", "text": str(n)})
                server.shutdown()  # the messages are still in the mailboxes
            await server.wait_stopped()

    expected = [str(n) for n in range(MESSAGES)]
    assert len(outcomes) == CLIENTS
    assert all(outcome == (expected, 1001) for outcome in outcomes)
    assert len(disconnects) == CLIENTS
    (record,) = [r for r in caplog.records if hasattr(r, "ledger")]
    ledger: ShutdownLedger = record.ledger  # type: ignore[attr-defined]  # the record's extra
    assert ledger.connections == ledger.closed_gracefully == ledger.disconnects == CLIENTS
    assert (ledger.cancelled, ledger.ended_otherwise, ledger.undelivered_total) == (0, 0, 0)
    assert ledger.queued + ledger.offered == ledger.delivered + ledger.still_queued
    assert ledger.delivered >= CLIENTS  # at least every disconnect; most relayed messages too
