"""What the chat stores: the messages of every room, and (for layers without
membership metadata) who is connected to which room."""

from django.conf import settings
from django.db import models

MAX_MESSAGE_LENGTH = 2000
"""The longest message, in characters."""


class Message(models.Model):
    """One message posted in a room."""

    room = models.CharField(max_length=50)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_messages"
    )
    text = models.TextField(max_length=MAX_MESSAGE_LENGTH)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]
        indexes = [models.Index(fields=["room", "-created"])]

    def __str__(self) -> str:
        return f"{self.room}: {self.author_id}: {self.text[:40]}"

    def as_json(self) -> dict[str, object]:
        """What a client gets for this message (the author must be loaded)."""
        return {
            "id": self.pk,
            "author": self.author.get_username(),
            "text": self.text,
            "created": self.created.isoformat(),
        }


class Visitor(models.Model):
    """One open connection to a room, for ``chat.presence`` on layers that
    cannot tell who their group members are (the Redis layers)."""

    channel_name = models.CharField(max_length=100, primary_key=True)
    group = models.CharField(max_length=100, db_index=True)
    name = models.CharField(max_length=150)
    joined = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} in {self.group}"
