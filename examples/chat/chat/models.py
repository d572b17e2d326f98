"""What the chat stores: the messages of every room (who is here is the
channel layer's: see ``chat.presence``)."""

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
