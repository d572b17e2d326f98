"""The bench protocol written with callboard: the same consumers a Channels user writes.

Served by ``hypercorn --worker-class trio bench.apps.callboard_app:application``,
``python -m callboard serve ...`` or uvicorn (asyncio, through AnyIO). With
``BENCH_REDIS_URL`` set, the default channel layer is callboard's Redis layer
so two processes share the room; with ``BENCH_DB`` set, Django is set up with
callboard's bridge and ``/ws/orm/`` reads a row per frame.

Not here: the Channels twin of these consumers (``channels_app``).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from typing import Any

from django.urls import path

from callboard.actors import current_runtime
from callboard.consumers import AsyncWebsocketConsumer, WebsocketConsumer
from callboard.db import database_sync_to_async
from callboard.layers import configure_channel_layers
from callboard.routing import ProtocolTypeRouter, URLRouter

from . import orm
from ._gc import apply_gc_knob, gc_statistics
from ._http import Receive, Send, respond_json

__all__ = ["EchoConsumer", "GroupConsumer", "ORMConsumer", "SyncEchoConsumer", "application"]

_BENCH_DB = orm.bench_db()
if _BENCH_DB:  # the ORM scenario: Django set up with callboard's bridge and the Item model
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        SECRET_KEY="bench-only-not-secret",
        INSTALLED_APPS=["callboard", "bench.apps.ormapp"],
        DATABASES=orm.database_settings(_BENCH_DB),
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        USE_TZ=True,
        # A diagnostic knob like BENCH_GC: unset, callboard's default applies.
        CALLBOARD=(
            {"DATABASE_THREAD_LIMIT": int(os.environ["BENCH_DB_THREADS"])}
            if os.environ.get("BENCH_DB_THREADS")
            else {}
        ),
    )
    django.setup()

_REDIS_URL = os.environ.get("BENCH_REDIS_URL")
if _REDIS_URL:
    configure_channel_layers(
        {
            "default": {
                "BACKEND": "callboard.layers.RedisChannelLayer",
                "CONFIG": {"hosts": [_REDIS_URL]},
            }
        }
    )


class EchoConsumer(AsyncWebsocketConsumer):
    """Echo each frame back to its sender."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Send the frame straight back."""
        await self.send(text_data=text_data, bytes_data=bytes_data)


class SyncEchoConsumer(WebsocketConsumer):
    """Echo each frame back from a handler thread (Channels' sync consumer, as in its tutorial)."""

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Send the frame straight back."""
        self.send(text_data=text_data, bytes_data=bytes_data)


class GroupConsumer(AsyncWebsocketConsumer):
    """Join the room named in the path; relay each frame to every member."""

    room: str

    async def connect(self) -> None:
        """Join the room, then accept."""
        self.room = "room." + self.scope["url_route"]["kwargs"]["room"]
        assert self.channel_layer is not None
        await self.channel_layer.group_add(self.room, self.channel_name)
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Publish the frame to the room, the sender included."""
        assert self.channel_layer is not None
        await self.channel_layer.group_send(self.room, {"type": "bench.message", "text": text_data})

    async def bench_message(self, event: dict[str, Any]) -> None:
        """Deliver one room message to this member's client."""
        await self.send(text_data=event["text"])

    async def disconnect(self, code: int) -> None:
        """Leave the room."""
        if self.channel_layer is not None and hasattr(self, "room"):
            await self.channel_layer.group_discard(self.room, self.channel_name)


_read_one = database_sync_to_async(orm.read_one)


class ORMConsumer(AsyncWebsocketConsumer):
    """Read one row through the ORM per frame, then echo the frame."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Read the row the frame's sequence number names, then answer."""
        await _read_one(int((text_data or "0").partition(":")[0]))
        await self.send(text_data=text_data)


_MAILBOX_COUNTERS = (
    "sent",
    "received",
    "depth",
    "dropped_newest",
    "dropped_oldest",
    "rejected",
    "overflowed",
    "expired",
    "discarded",
)


def delivery_statistics() -> dict[str, Any]:
    """Sum the live actors' mailbox counters and add the registry's (this event loop's)."""
    runtime = current_runtime()
    totals = dict.fromkeys(_MAILBOX_COUNTERS, 0)
    for actor in list(runtime.actors.values()):
        mailbox = actor.statistics().mailbox
        if mailbox is None:
            continue
        for key in _MAILBOX_COUNTERS:
            totals[key] += getattr(mailbox, key)
    registry = runtime.registry.statistics()
    undelivered = sum(totals[k] for k in _MAILBOX_COUNTERS[3:])
    return {
        "framework": "callboard",
        "actors": len(runtime.actors),
        "mailboxes": totals,
        "undelivered": undelivered,
        "group_deliveries": registry.group_deliveries,
        "no_receiver": registry.no_receiver,
        "gc": gc_statistics(),
    }


async def stats_app(scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
    """``GET /bench/stats``: callboard's delivery counters as JSON."""
    await respond_json(scope, receive, send, delivery_statistics())


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
