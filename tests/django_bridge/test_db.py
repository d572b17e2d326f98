"""ORM work from async code: ``database_sync_to_async``, ``database_run_sync``, the async ORM."""

from __future__ import annotations

import threading

import anyio
import pytest

from callboard.django_bridge import (
    DatabaseSyncToAsync,
    close_pooled_connections,
    database_run_sync,
    database_sync_to_async,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _note_model():  # type: ignore[no-untyped-def]
    from django_project.notes.models import Note

    return Note


async def test_database_sync_to_async_decorates_a_function(db_alias: str) -> None:
    Note = _note_model()

    @database_sync_to_async
    def create(text: str) -> int:
        Note.objects.using(db_alias).create(text=text)
        return Note.objects.using(db_alias).count()

    assert isinstance(create, DatabaseSyncToAsync)
    assert await create("one") == 1
    assert await create("two") == 2


async def test_database_sync_to_async_binds_methods_and_takes_keywords(db_alias: str) -> None:
    Note = _note_model()

    class Store:
        prefix = "note:"

        @database_sync_to_async
        def add(self, text: str, *, alias: str) -> str:
            return Note.objects.using(alias).create(text=self.prefix + text).text

    assert await Store().add("x", alias=db_alias) == "note:x"


async def test_database_sync_to_async_refuses_async_functions() -> None:
    async def fetch() -> None:
        pass

    with pytest.raises(TypeError, match="needs a sync function"):
        database_sync_to_async(fetch)


async def test_database_run_sync_runs_a_plain_call(db_alias: str) -> None:
    Note = _note_model()

    note = await database_run_sync(Note.objects.using(db_alias).create, text="plain")

    assert await database_run_sync(Note.objects.using(db_alias).get, pk=note.pk) == note


async def test_transaction_atomic_in_a_sync_helper_rolls_back_on_error(db_alias: str) -> None:
    from django.db import transaction

    Note = _note_model()

    def add_then_fail() -> None:
        with transaction.atomic(using=db_alias):
            Note.objects.using(db_alias).create(text="kept?")
            raise ValueError("undo")

    with pytest.raises(ValueError, match="undo"):
        await database_run_sync(add_then_fail)
    assert await database_run_sync(Note.objects.using(db_alias).count) == 0


async def test_calls_run_in_parallel_threads_unlike_channels(db_alias: str) -> None:
    Note = _note_model()
    barrier = threading.Barrier(2, timeout=5)

    def meet() -> int:
        barrier.wait()  # both calls inside at once, or this times out
        return Note.objects.using(db_alias).count()

    async with anyio.create_task_group() as task_group:
        for _ in range(2):
            task_group.start_soon(database_run_sync, meet)


async def test_thread_sensitive_calls_share_one_thread(db_alias: str) -> None:
    seen: set[int] = set()

    @database_sync_to_async(thread_sensitive=True)
    def where() -> None:
        seen.add(threading.get_ident())

    async with anyio.create_task_group() as task_group:
        for _ in range(4):
            task_group.start_soon(where)
    assert len(seen) == 1


async def test_database_limiter_bounds_concurrent_calls() -> None:
    from django.test import override_settings

    from callboard.django_bridge import current_database_limiter, current_database_pool

    with override_settings(CALLBOARD={"DATABASE_THREAD_LIMIT": 1}):
        inside = 0
        peak = 0
        lock = threading.Lock()

        def count() -> None:
            nonlocal inside, peak
            with lock:
                inside += 1
                peak = max(peak, inside)
            threading.Event().wait(0.01)
            with lock:
                inside -= 1

        async with anyio.create_task_group() as task_group:
            for _ in range(3):
                task_group.start_soon(database_run_sync, count)
        assert peak == 1
        assert current_database_limiter().total_tokens == 1
        assert current_database_pool().size == 1


async def test_connections_close_after_each_call_with_conn_max_age_zero(db_alias: str) -> None:
    from django.db import connections

    Note = _note_model()

    def count_then_report() -> bool:
        Note.objects.using(db_alias).count()
        return connections[db_alias].connection is not None

    assert await database_run_sync(count_then_report) is True
    assert await database_run_sync(lambda: connections[db_alias].connection) is None


async def test_pool_threads_keep_connections_with_conn_max_age(db_alias: str) -> None:
    from django.db import connections

    Note = _note_model()
    settings_dict = connections.settings[db_alias]
    settings_dict["CONN_MAX_AGE"] = 60
    try:

        def which() -> tuple[int, int]:
            Note.objects.using(db_alias).count()
            return threading.get_ident(), id(connections[db_alias].connection)

        first = await database_run_sync(which)
        second = await database_run_sync(which)
        if first[0] == second[0]:
            assert first[1] == second[1]
    finally:
        settings_dict["CONN_MAX_AGE"] = 0
    assert await anyio.to_thread.run_sync(close_pooled_connections) >= 1
    assert await anyio.to_thread.run_sync(close_pooled_connections) == 0


async def test_context_variables_travel_to_the_thread_and_back() -> None:
    import contextvars

    variable: contextvars.ContextVar[str] = contextvars.ContextVar("variable", default="unset")
    variable.set("caller")

    def swap() -> str:
        seen = variable.get()
        variable.set("thread")
        return seen

    assert await database_run_sync(swap) == "caller"
    assert variable.get() == "thread"


class TestAsyncOrm:
    """Django's async ORM, directly under Trio."""

    async def test_acreate_aget_acount(self, db_alias: str) -> None:
        Note = _note_model()
        notes = Note.objects.using(db_alias)

        created = await notes.acreate(text="async")

        assert (await notes.aget(pk=created.pk)).text == "async"
        assert await notes.acount() == 1

    async def test_async_for_over_a_queryset(self, db_alias: str) -> None:
        Note = _note_model()
        for text in ("a", "b", "c"):
            await Note.objects.using(db_alias).acreate(text=text)

        texts = [note.text async for note in Note.objects.using(db_alias).order_by("text")]

        assert texts == ["a", "b", "c"]

    async def test_aiterator_keeps_its_cursor_across_chunks(self, db_alias: str) -> None:
        Note = _note_model()
        await database_run_sync(
            Note.objects.using(db_alias).bulk_create, [Note(text=str(i)) for i in range(25)]
        )

        seen = [note.text async for note in Note.objects.using(db_alias).aiterator(chunk_size=4)]

        assert sorted(seen, key=int) == [str(i) for i in range(25)]

    async def test_aupdate_or_create(self, db_alias: str) -> None:
        from django_project.notes.models import Tally

        tallies = Tally.objects.using(db_alias)
        first, created = await tallies.aupdate_or_create(name="n", defaults={"count": 1})
        second, again = await tallies.aupdate_or_create(name="n", defaults={"count": 2})

        assert (created, again) == (True, False)
        assert second.pk == first.pk
        assert (await tallies.aget(name="n")).count == 2


@pytest.mark.django_db
class TestSharedTestTransaction:
    """A test inside a transaction: worker threads use the test thread's connection."""

    async def test_worker_threads_see_the_open_test_transaction(self, db_alias: str) -> None:
        from django.db import connections

        Note = _note_model()
        await database_run_sync(Note.objects.using(db_alias).create, text="uncommitted")

        assert await database_run_sync(lambda: connections[db_alias].in_atomic_block) is True
        assert await Note.objects.using(db_alias).acount() == 1
        assert [n.text async for n in Note.objects.using(db_alias).all()] == ["uncommitted"]

    async def test_the_previous_tests_rows_were_rolled_back(self, db_alias: str) -> None:
        Note = _note_model()
        assert await Note.objects.using(db_alias).acount() == 0


@pytest.mark.anyio
async def test_the_offload_works_on_asyncio_too(anyio_backend: str) -> None:
    Note = _note_model()

    assert await database_run_sync(Note.objects.count) == 0
    assert await database_sync_to_async(Note.objects.count, thread_sensitive=True)() == 0
    assert await Note.objects.acount() == 0
