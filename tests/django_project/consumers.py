"""Consumers of the sample project: the ORM three ways, auth, and a background worker."""

import time

from django.contrib.auth import authenticate
from django.db import transaction

from callboard.consumers import AsyncJsonWebsocketConsumer, JsonWebsocketConsumer, SyncConsumer
from callboard.db import database_sync_to_async
from callboard.django_bridge import login, logout, save_session

from .notes.models import Note, Tally


class SyncNotesConsumer(JsonWebsocketConsumer):
    """Plain sync ORM calls in handlers (they run in worker threads)."""

    def receive_json(self, content, **kwargs):
        alias = self.scope["url_route"]["kwargs"]["alias"]
        Note.objects.using(alias).create(text=content["text"])
        self.send_json({"count": Note.objects.using(alias).count()})


class DatabaseNotesConsumer(AsyncJsonWebsocketConsumer):
    """``database_sync_to_async`` on a method and on a function."""

    @database_sync_to_async
    def create(self, alias, text):
        with transaction.atomic(using=alias):
            Note.objects.using(alias).create(text=text)
            if text == "rollback":
                raise ValueError("rolled back")
        return Note.objects.using(alias).count()

    async def receive_json(self, content, **kwargs):
        alias = self.scope["url_route"]["kwargs"]["alias"]
        try:
            count = await self.create(alias, content["text"])
        except ValueError:
            count = await database_sync_to_async(Note.objects.using(alias).count)()
        await self.send_json({"count": count})


class AsyncOrmNotesConsumer(AsyncJsonWebsocketConsumer):
    """Django's async ORM directly in an async consumer."""

    async def receive_json(self, content, **kwargs):
        alias = self.scope["url_route"]["kwargs"]["alias"]
        notes = Note.objects.using(alias)
        created = await notes.acreate(text=content["text"])
        fetched = await notes.aget(pk=created.pk)
        texts = [note.text async for note in notes.order_by("pk")]
        tally, _ = await Tally.objects.using(alias).aupdate_or_create(
            name="notes", defaults={"count": len(texts)}
        )
        await self.send_json(
            {
                "text": fetched.text,
                "texts": texts,
                "count": await notes.acount(),
                "tally": tally.count,
            }
        )


class WhoAmIConsumer(AsyncJsonWebsocketConsumer):
    """Says who the connection's user is; logs in and out on request."""

    async def connect(self):
        if self.scope["path"].endswith("/private/") and not self.scope["user"].is_authenticated:
            await self.close()
            return
        await self.accept()
        await self.send_json({"user": self.scope["user"].username or None})

    async def receive_json(self, content, **kwargs):
        if content["op"] == "login":
            user = await database_sync_to_async(authenticate)(
                username=content["username"], password=content["password"]
            )
            await login(self.scope, user)
            await save_session(self.scope)
        elif content["op"] == "logout":
            await logout(self.scope)
            await save_session(self.scope)
        await self.send_json(
            {
                "user": self.scope["user"].username or None,
                "session": self.scope["session"].session_key,
            }
        )


class TaskConsumer(SyncConsumer):
    """A background worker: creates notes; ``task.crash`` raises."""

    def task_create(self, message):
        Note.objects.using(message.get("alias", "default")).create(text=message["text"])

    def task_slow(self, message):
        time.sleep(message["seconds"])
        Note.objects.create(text=message["text"])

    def task_crash(self, message):
        raise RuntimeError("task crashed")
