"""A "who is here" room on the Redis layer, for the multi-process presence test.

Each ``callboard serve tests.e2e.presence_app:application`` process reads the
Redis URL and key prefix from ``CALLBOARD_TEST_REDIS_URL`` and
``CALLBOARD_TEST_REDIS_PREFIX``, and its presence heartbeat and timeout
from ``CALLBOARD_TEST_PRESENCE_HEARTBEAT`` and ``CALLBOARD_TEST_PRESENCE_TIMEOUT``
(short, so a killed process's members vanish within a test's patience).
Served in subprocesses only: importing it configures ``CHANNEL_LAYERS``.

- ``ws/room/<room>/?<name>``: present in the room as ``name``; receives
  ``{"here": [names]}`` once, then ``{"joined": [names], "left": [names]}``
  for every change;
- ``GET /presence/<room>/``: the names present, as JSON (any process answers
  for all of them).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from django.urls import path

from callboard.consumers import AsyncHttpConsumer, AsyncJsonWebsocketConsumer
from callboard.layers import configure_channel_layers
from callboard.routing import ProtocolTypeRouter, URLRouter

configure_channel_layers(
    {
        "default": {
            "BACKEND": "callboard.layers.RedisChannelLayer",
            "CONFIG": {
                "hosts": [os.environ.get("CALLBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")],
                "prefix": os.environ.get("CALLBOARD_TEST_REDIS_PREFIX", "asgi"),
                "presence_heartbeat_interval": float(
                    os.environ.get("CALLBOARD_TEST_PRESENCE_HEARTBEAT", "5")
                ),
                "presence_timeout": float(os.environ.get("CALLBOARD_TEST_PRESENCE_TIMEOUT", "15")),
            },
        }
    }
)


def _names(members: list[dict[str, Any]]) -> list[str]:
    return sorted(member["metadata"]["name"] for member in members)


class RoomConsumer(AsyncJsonWebsocketConsumer):
    """One visitor: present in its room, told who is there and who comes and goes."""

    presence_events = True
    presence_batch_interval = 0.1

    async def presence_metadata(self, group: str) -> Mapping[str, Any]:
        return {"name": self.scope["query_string"].decode(), "pid": os.getpid()}

    async def connect(self) -> None:
        self.room = f"room_{self.scope['url_route']['kwargs']['room']}"
        await self.join_presence(self.room)
        await self.accept()
        present = await self.channel_layer.presence(self.room)  # type: ignore[union-attr]
        await self.send_json({"here": sorted(m.metadata["name"] for m in present)})

    async def presence_diff(self, event: dict[str, Any]) -> None:
        await self.send_json({"joined": _names(event["joins"]), "left": _names(event["leaves"])})


class PresenceConsumer(AsyncHttpConsumer):
    """``GET /presence/<room>/``: who is in the room, across every process."""

    async def handle(self, body: bytes) -> None:
        room = f"room_{self.scope['url_route']['kwargs']['room']}"
        present = await self.channel_layer.presence(room)  # type: ignore[union-attr]
        names = sorted(m.metadata["name"] for m in present)
        await self.send_response(
            200, json.dumps(names).encode(), headers=[(b"content-type", b"application/json")]
        )


application = ProtocolTypeRouter(
    {
        "http": URLRouter([path("presence/<str:room>/", PresenceConsumer.as_asgi())]),
        "websocket": URLRouter([path("ws/room/<str:room>/", RoomConsumer.as_asgi())]),
    }
)
