"""The application the reliability tests serve, in their own loop or in a server process.

``RoomConsumer`` is the tutorial's chat reduced to its load: join the room's
group, relay each text frame to the room, write each room message to the
client; ``/ws/room/`` keeps Channels' overflow policy (drop the newest),
``/ws/oldest/`` drops the oldest and ``/ws/strict/`` disconnects (1013).

``/stats/`` (HTTP) and ``/ws/stats/`` (a WebSocket, one frame per question)
answer with the serving process's own figures (runtime statistics,
descriptors, memory, live tasks), so a test can look into a server process
it did not start in its own loop.

Served in a process: ``python -m callboard serve tests.reliability.apps:application``.

Not here: consumers a single test needs (they live beside that test).
"""

from __future__ import annotations

import json
import os
from typing import Any

from django.urls import path

from callboard.actors import current_runtime
from callboard.consumers import AsyncHttpConsumer, AsyncWebsocketConsumer, connection_statistics
from callboard.routing import ProtocolTypeRouter, URLRouter

from ._measure import live_tasks, open_fds, raise_fd_limit, rss_bytes

__all__ = ["RoomConsumer", "StatsConsumer", "StatsSocket", "application", "room_group"]

raise_fd_limit(1 << 20)  # a server process holding 10,000 connections: as many as allowed


def room_group(room: str) -> str:
    """The group a room's members join."""
    return f"room.{room}"


class RoomConsumer(AsyncWebsocketConsumer):
    """Join the room from the URL; relay text frames to it; write its messages out."""

    async def connect(self) -> None:
        self.room = room_group(self.scope["url_route"]["kwargs"]["room"])
        assert self.channel_layer is not None
        await self.channel_layer.group_add(self.room, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        assert self.channel_layer is not None
        await self.channel_layer.group_discard(self.room, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        assert self.channel_layer is not None
        await self.channel_layer.group_send(self.room, {"type": "room.message", "text": text_data})

    async def room_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


def process_figures() -> dict[str, Any]:
    """This process's figures: what ``/stats/`` answers."""
    stats = current_runtime().statistics()
    connections = connection_statistics()
    return {
        "pid": os.getpid(),
        "actors": stats.actors,
        "mailboxes": stats.registry.mailboxes,
        "groups": stats.registry.groups,
        "memberships": stats.registry.memberships,
        "undelivered": stats.mailboxes.undelivered_by_reason,
        "max_depth": stats.mailboxes.max_depth,
        "peak_depth": stats.mailboxes.peak_depth,
        "crashes": connections.crashes,
        "sent_after_close": connections.sent_after_close,
        "websocket_open": connections.websocket_open,
        "fds": open_fds(),
        "rss": rss_bytes(),
        "tasks": live_tasks(),
    }


class StatsConsumer(AsyncHttpConsumer):
    """``GET /stats/``: :func:`process_figures` as JSON, leaving out this request's consumer."""

    async def handle(self, body: bytes) -> None:
        figures = process_figures()
        figures["actors"] -= 1  # not counting this request's own consumer
        figures["mailboxes"] -= 1
        await self.send_response(
            200,
            json.dumps(figures).encode(),
            headers=[(b"content-type", b"application/json")],
        )


class StatsSocket(AsyncWebsocketConsumer):
    """``/ws/stats/``: each text frame is answered with :func:`process_figures` as JSON.

    One socket held for a whole test counts the same in every answer, where
    closed HTTP requests linger until hypercorn's keep-alive timeout.
    """

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        figures = process_figures()
        figures["actors"] -= 1  # not counting this socket's own consumer
        figures["mailboxes"] -= 1
        await self.send(text_data=json.dumps(figures))


application = ProtocolTypeRouter(
    {
        "http": URLRouter([path("stats/", StatsConsumer.as_asgi())]),
        "websocket": URLRouter(
            [
                path("ws/stats/", StatsSocket.as_asgi()),
                path("ws/room/<str:room>/", RoomConsumer.as_asgi()),
                path("ws/oldest/<str:room>/", RoomConsumer.as_asgi(overflow_policy="drop_oldest")),
                path("ws/strict/<str:room>/", RoomConsumer.as_asgi(overflow_policy="disconnect")),
            ]
        ),
    }
)
