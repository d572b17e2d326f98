"""The chat's WebSocket consumer: history on join, messages to the room, who is here.

What the client sends: ``{"message": "text"}``. What it receives, as JSON:

- ``{"type": "history", "messages": [message, ...]}`` once, when connected;
- ``{"type": "message", "message": message}`` for every message posted in the room,
  where ``message`` is ``{"id", "author", "text", "created"}``;
- ``{"type": "presence", "users": ["alice", "bob", "guest"]}`` when it is in the
  room, then whenever someone comes or goes (callboard's presence API: a burst
  of comings and goings arrives as one update);
- ``{"type": "error", "error": "..."}`` when a message is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callboard.consumers import AsyncJsonWebsocketConsumer
from callboard.db import database_sync_to_async

from . import presence
from .models import MAX_MESSAGE_LENGTH, Message

HISTORY_LENGTH = 50
"""How many of a room's latest messages a client gets when it connects."""


@database_sync_to_async
def recent_messages(room: str, count: int = HISTORY_LENGTH) -> list[dict[str, Any]]:
    """The latest ``count`` messages of ``room``, oldest first (in a worker thread)."""
    latest = Message.objects.filter(room=room).select_related("author").order_by("-created", "-id")
    return [message.as_json() for message in reversed(latest[:count])]


class ChatConsumer(AsyncJsonWebsocketConsumer):
    """One browser tab in one room."""

    presence_events = True  # hear the room's comings and goings (presence_diff below)

    async def presence_metadata(self, group: str) -> Mapping[str, Any]:
        return {"name": presence.name_of(self.scope["user"])}

    async def connect(self) -> None:
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = f"chat_{self.room_name}"
        self.user = self.scope["user"]

        # In the room's group, as a present member: group messages and presence
        # both. Leaving happens by itself, however the connection ends.
        await self.join_presence(self.room_group_name)
        await self.accept()
        await self.send_json({"type": "history", "messages": await recent_messages(self.room_name)})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not self.user.is_authenticated:
            await self._refuse("Log in to post messages.")
            return
        text = content.get("message") if isinstance(content, dict) else None
        text = text.strip() if isinstance(text, str) else ""
        if not text:
            await self._refuse("A message needs some text.")
            return
        if len(text) > MAX_MESSAGE_LENGTH:
            await self._refuse(f"A message has at most {MAX_MESSAGE_LENGTH} characters.")
            return

        # Django's async ORM, straight from the consumer (callboard runs it under Trio).
        message = Message(room=self.room_name, author=self.user, text=text)
        await message.asave()
        await self.channel_layer.group_send(
            self.room_group_name, {"type": "chat.message", "message": message.as_json()}
        )

    async def _refuse(self, error: str) -> None:
        await self.send_json({"type": "error", "error": error})

    # Messages from the room's group.

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "message", "message": event["message"]})

    async def presence_diff(self, event: dict[str, Any]) -> None:
        # Someone came or went (several, in a burst). Ask for the list rather than
        # apply the diff: one user with two tabs is two members but one name.
        users = await presence.who_is_here(self.channel_layer, self.room_group_name)
        await self.send_json({"type": "presence", "users": users})
