"""The tutorial chat on the Redis layer, for the multi-process end-to-end test.

Each ``callboard serve tests.e2e.redis_chat_app:application`` process reads
the Redis URL and key prefix from ``CALLBOARD_TEST_REDIS_URL`` and
``CALLBOARD_TEST_REDIS_PREFIX`` and configures ``CHANNEL_LAYERS`` as a
Channels project would, with channels_redis' backend path.
"""

from __future__ import annotations

import json
import os
from typing import Any

from django.urls import path

from callboard.consumers import AsyncWebsocketConsumer
from callboard.layers import configure_channel_layers
from callboard.routing import ProtocolTypeRouter, URLRouter

configure_channel_layers(
    {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [os.environ.get("CALLBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")],
                "prefix": os.environ.get("CALLBOARD_TEST_REDIS_PREFIX", "asgi"),
            },
        }
    }
)


class ChatConsumer(AsyncWebsocketConsumer):
    """The tutorial's consumer: relay every message to everyone in the room."""

    mailbox_capacity = 10_000

    async def connect(self) -> None:
        self.room_group_name = f"chat_{self.scope['url_route']['kwargs']['room_name']}"
        assert self.channel_layer is not None
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, close_code: int) -> None:
        assert self.channel_layer is not None
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        assert text_data is not None
        assert self.channel_layer is not None
        message = json.loads(text_data)["message"]
        await self.channel_layer.group_send(
            self.room_group_name, {"type": "chat.message", "message": message}
        )

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps({"message": event["message"], "pid": os.getpid()}))


application = ProtocolTypeRouter(
    {"websocket": URLRouter([path("ws/chat/<str:room_name>/", ChatConsumer.as_asgi())])}
)
