"""Consumers that use the ORM: sync handlers, ``database_sync_to_async``, Django's async ORM."""

from __future__ import annotations

import pytest

from callboard.testing import WebsocketCommunicator

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1")


def _communicator(path: str) -> WebsocketCommunicator:
    from django_project.asgi import application

    return WebsocketCommunicator(application, path, headers=[ORIGIN])


@pytest.mark.parametrize("kind", ["sync", "database"])
async def test_a_consumer_writes_and_counts(db_alias: str, kind: str) -> None:
    async with _communicator(f"/ws/notes/{db_alias}/{kind}/") as communicator:
        connected, _ = await communicator.connect()
        assert connected
        for expected in (1, 2):
            await communicator.send_json_to({"text": f"note {expected}"})
            assert await communicator.receive_json_from(timeout=5) == {"count": expected}


async def test_database_sync_to_async_rolls_back_a_failed_transaction(db_alias: str) -> None:
    async with _communicator(f"/ws/notes/{db_alias}/database/") as communicator:
        await communicator.connect()
        await communicator.send_json_to({"text": "kept"})
        assert await communicator.receive_json_from(timeout=5) == {"count": 1}
        await communicator.send_json_to({"text": "rollback"})
        assert await communicator.receive_json_from(timeout=5) == {"count": 1}


async def test_the_async_orm_in_an_async_consumer(db_alias: str) -> None:
    async with _communicator(f"/ws/notes/{db_alias}/async/") as communicator:
        await communicator.connect()
        await communicator.send_json_to({"text": "one"})
        first = await communicator.receive_json_from(timeout=5)
        await communicator.send_json_to({"text": "two"})
        second = await communicator.receive_json_from(timeout=5)

    assert first == {"text": "one", "texts": ["one"], "count": 1, "tally": 1}
    assert second == {"text": "two", "texts": ["one", "two"], "count": 2, "tally": 2}


async def test_many_consumers_use_the_database_at_once(db_alias: str) -> None:
    import anyio

    async def one(index: int) -> None:
        async with _communicator(f"/ws/notes/{db_alias}/database/") as communicator:
            await communicator.connect()
            await communicator.send_json_to({"text": f"n{index}"})
            await communicator.receive_json_from(timeout=10)

    async with anyio.create_task_group() as task_group:
        for index in range(12):
            task_group.start_soon(one, index)

    from django_project.notes.models import Note

    assert await Note.objects.using(db_alias).acount() == 12
