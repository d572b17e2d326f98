"""The Channels tutorial's chat, as an ASGI application the end-to-end tests serve.

``ChatConsumer`` is the tutorial's consumer with only its imports changed.
Served in a subprocess (``hypercorn --worker-class trio tests.e2e.chat_app:application``
or ``python -m callboard serve tests.e2e.chat_app:application``) it also
appends one line per disconnect to the file named by ``CHAT_APP_DISCONNECT_LOG``,
so a test can see that disconnect handlers ran in a process it cannot look into.
"""

from __future__ import annotations

import json
import os
from typing import Any

import anyio
from django.urls import path

from callboard.consumers import AsyncHttpConsumer, AsyncWebsocketConsumer
from callboard.routing import ProtocolTypeRouter, URLRouter

DISCONNECT_LOG_VARIABLE = "CHAT_APP_DISCONNECT_LOG"
"""Environment variable naming a file that gets ``<pid> <room> <code>`` per disconnect."""


class ChatConsumer(AsyncWebsocketConsumer):
    """The tutorial's consumer: relay every message to everyone in the room."""

    # A room where everyone talks at once receives (members x messages in flight)
    # group messages in a burst; the tutorial's default mailbox (100) would drop some.
    mailbox_capacity = 10_000

    async def connect(self) -> None:
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = f"chat_{self.room_name}"

        # Join room group
        assert self.channel_layer is not None
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)

        await self.accept()

    async def disconnect(self, close_code: int) -> None:
        # Leave room group
        assert self.channel_layer is not None
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)
        await _log_disconnect(self.room_name, close_code)

    # Receive message from WebSocket
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        assert text_data is not None
        text_data_json = json.loads(text_data)
        message = text_data_json["message"]

        # Send message to room group
        assert self.channel_layer is not None
        await self.channel_layer.group_send(
            self.room_group_name, {"type": "chat.message", "message": message}
        )

    # Receive message from room group
    async def chat_message(self, event: dict[str, Any]) -> None:
        message = event["message"]

        # Send message to WebSocket
        await self.send(text_data=json.dumps({"message": message}))


class HealthConsumer(AsyncHttpConsumer):
    """``GET /health/``: 200 ``ok`` and the serving process's id (for the workers test)."""

    async def handle(self, body: bytes) -> None:
        await self.send_response(
            200,
            b"ok",
            headers=[(b"content-type", b"text/plain"), (b"x-pid", str(os.getpid()).encode())],
        )


async def _log_disconnect(room: str, code: int) -> None:
    log = os.environ.get(DISCONNECT_LOG_VARIABLE)
    if log:
        async with await anyio.open_file(log, "a") as file:
            await file.write(f"{os.getpid()} {room} {code}\n")


websocket_urlpatterns = [
    path("ws/chat/<str:room_name>/", ChatConsumer.as_asgi()),
]

application = ProtocolTypeRouter(
    {
        "http": URLRouter([path("health/", HealthConsumer.as_asgi())]),
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
