"""The bench protocol written with Django Channels 4.3: the baseline callboard is measured against.

Served by uvicorn and daphne. Minimal Django settings are configured here;
the channel layer is Channels' ``InMemoryChannelLayer``, or ``channels_redis``
when ``BENCH_REDIS_URL`` is set (two processes then share the room); with
``BENCH_DB`` set, ``/ws/orm/`` reads a row per frame through Channels'
``database_sync_to_async``.

Not here: the callboard twin of these consumers (``callboard_app``).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from typing import Any

import django
from django.conf import settings

from . import orm

_REDIS_URL = os.environ.get("BENCH_REDIS_URL")

_BENCH_DB = orm.bench_db()

if not settings.configured:
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        SECRET_KEY="bench-only-not-secret",
        INSTALLED_APPS=["channels", *(["bench.apps.ormapp"] if _BENCH_DB else [])],
        DATABASES=orm.database_settings(_BENCH_DB) if _BENCH_DB else {},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        USE_TZ=True,
        CHANNEL_LAYERS={
            "default": (
                {
                    "BACKEND": "channels_redis.core.RedisChannelLayer",
                    "CONFIG": {"hosts": [_REDIS_URL]},
                }
                if _REDIS_URL
                else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
            )
        },
    )
    django.setup()

from channels.db import database_sync_to_async  # noqa: E402
from channels.generic.websocket import AsyncWebsocketConsumer, WebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from ._gc import apply_gc_knob, gc_statistics  # noqa: E402
from ._http import Receive, Send, respond_json  # noqa: E402

__all__ = ["EchoConsumer", "GroupConsumer", "ORMConsumer", "SyncEchoConsumer", "application"]


class EchoConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]  # channels ships no types
    """Echo each frame back to its sender."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Send the frame straight back."""
        await self.send(text_data=text_data, bytes_data=bytes_data)


class SyncEchoConsumer(WebsocketConsumer):  # type: ignore[misc]  # channels ships no types
    """Echo each frame back from a handler thread (the sync consumer of Channels' tutorial)."""

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Send the frame straight back."""
        self.send(text_data=text_data, bytes_data=bytes_data)


class GroupConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]  # channels ships no types
    """Join the room named in the path; relay each frame to every member."""

    room: str

    async def connect(self) -> None:
        """Join the room, then accept."""
        self.room = "room." + self.scope["url_route"]["kwargs"]["room"]
        await self.channel_layer.group_add(self.room, self.channel_name)
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Publish the frame to the room, the sender included."""
        await self.channel_layer.group_send(self.room, {"type": "bench.message", "text": text_data})

    async def bench_message(self, event: dict[str, Any]) -> None:
        """Deliver one room message to this member's client."""
        await self.send(text_data=event["text"])

    async def disconnect(self, code: int) -> None:
        """Leave the room."""
        if hasattr(self, "room"):
            await self.channel_layer.group_discard(self.room, self.channel_name)


_read_one = database_sync_to_async(orm.read_one)


class ORMConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]  # channels ships no types
    """Read one row through the ORM per frame, then echo the frame."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Read the row the frame's sequence number names, then answer."""
        await _read_one(int((text_data or "0").partition(":")[0]))
        await self.send(text_data=text_data)


async def stats_app(scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
    """``GET /bench/stats``: Channels keeps no delivery counters, so an empty object."""
    await respond_json(scope, receive, send, {"framework": "channels", "gc": gc_statistics()})


application = ProtocolTypeRouter(
    {
        "http": stats_app,
        "websocket": URLRouter(
            [
                path("ws/echo/", EchoConsumer.as_asgi()),
                path("ws/sync-echo/", SyncEchoConsumer.as_asgi()),
                path("ws/group/<str:room>/", GroupConsumer.as_asgi()),
                *([path("ws/orm/", ORMConsumer.as_asgi())] if _BENCH_DB else []),
            ]
        ),
    }
)

apply_gc_knob()
