"""The Trio support: asgiref's SyncToAsync, Django's async-safety guard, async signals, re-entry."""

from __future__ import annotations

import anyio
import anyio.from_thread
import anyio.lowlevel
import pytest
from asgiref.sync import AsyncToSync, SyncToAsync, async_to_sync, sync_to_async

from callboard.django_bridge import (
    ThreadReentryError,
    database_run_sync,
    install_trio_support,
    trio_support_installed,
    uninstall_trio_support,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_app_config_installed_the_trio_support() -> None:
    assert trio_support_installed()


def test_uninstall_restores_every_original_and_install_puts_them_back() -> None:
    import django.dispatch.dispatcher as dispatcher
    import django.utils.asyncio as django_asyncio

    from callboard.actors import set_offload_wrapper

    patched = (SyncToAsync.__call__, AsyncToSync.__call__, django_asyncio.get_running_loop)
    uninstall_trio_support()
    try:
        assert not trio_support_installed()
        assert SyncToAsync.__call__ is patched[0].__wrapped__  # type: ignore[attr-defined]
        assert AsyncToSync.__call__ is patched[1].__wrapped__  # type: ignore[attr-defined]
        assert django_asyncio.get_running_loop is __import__("asyncio").get_running_loop
        assert dispatcher.asyncio is __import__("asyncio")
        assert set_offload_wrapper(None) is None
    finally:
        install_trio_support()
    assert trio_support_installed()
    install_trio_support()  # idempotent
    assert SyncToAsync.__call__ is not patched[0].__wrapped__  # type: ignore[attr-defined]


async def test_a_sync_orm_call_on_the_event_loop_raises_instead_of_blocking() -> None:
    from django.core.exceptions import SynchronousOnlyOperation
    from django_project.notes.models import Note

    with pytest.raises(SynchronousOnlyOperation, match="async context"):
        Note.objects.count()


async def test_async_to_sync_on_the_trio_thread_is_refused() -> None:
    async def nothing() -> None:
        pass

    with pytest.raises(RuntimeError, match="same thread as an async event loop"):
        async_to_sync(nothing)()


async def test_sync_to_async_thread_sensitive_runs_in_one_thread() -> None:
    import threading

    idents = {await sync_to_async(threading.get_ident)() for _ in range(3)}
    assert len(idents) == 1
    assert idents != {threading.get_ident()}


async def test_sync_to_async_not_thread_sensitive_uses_the_pool() -> None:
    assert await sync_to_async(lambda: 41 + 1, thread_sensitive=False)() == 42


async def test_sync_to_async_in_a_thread_running_async_to_sync_comes_back_to_it() -> None:
    import threading

    async def inner() -> int:
        return await sync_to_async(threading.get_ident)()

    def outer() -> tuple[int, int]:
        return threading.get_ident(), async_to_sync(inner)()

    caller, ran_in = await database_run_sync(outer)
    assert ran_in == caller


async def test_thread_sensitive_reentry_through_from_thread_run_is_refused() -> None:
    token = anyio.lowlevel.current_token()

    async def inner() -> None:
        await sync_to_async(lambda: None)()

    def outer() -> None:
        anyio.from_thread.run(inner, token=token)

    with pytest.raises(ThreadReentryError, match="would deadlock"):
        await sync_to_async(outer)()


async def test_cancelling_a_started_call_waits_for_it() -> None:
    import threading

    started = threading.Event()
    finished = threading.Event()

    def slow() -> None:
        started.set()
        threading.Event().wait(0.05)
        finished.set()

    with anyio.move_on_after(5) as scope:
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(sync_to_async(slow))
            await anyio.to_thread.run_sync(started.wait)
            task_group.cancel_scope.cancel()
    assert not scope.cancelled_caught
    assert finished.is_set()


async def test_async_signal_dispatch_runs_sync_and_async_receivers() -> None:
    from django.dispatch import Signal

    signal = Signal()
    calls: list[str] = []

    def sync_receiver(**kwargs: object) -> str:
        calls.append("sync")
        return "s"

    async def async_receiver(**kwargs: object) -> str:
        await anyio.lowlevel.checkpoint()
        calls.append("async")
        return "a"

    signal.connect(sync_receiver, weak=False)
    signal.connect(async_receiver, weak=False)

    responses = await signal.asend(sender=None)

    assert sorted(calls) == ["async", "sync"]
    assert [value for _, value in responses] == ["s", "a"]


async def test_asend_robust_returns_errors() -> None:
    from django.dispatch import Signal

    signal = Signal()

    async def failing(**kwargs: object) -> None:
        raise ValueError("receiver failed")

    signal.connect(failing, weak=False)
    [(receiver, result)] = await signal.asend_robust(sender=None)
    assert receiver is failing
    assert isinstance(result, ValueError)


async def test_django_alogin_works_under_trio() -> None:
    from django.contrib.auth import alogin, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.http import HttpRequest

    user = await database_run_sync(
        get_user_model().objects.create_user, username="ann", password="pw"
    )
    request = HttpRequest()
    request.session = SessionStore()
    request.META["CSRF_COOKIE"] = "x" * 32

    await alogin(request, user)

    assert await request.session.aget("_auth_user_id") == str(user.pk)
    refreshed = await get_user_model().objects.aget(pk=user.pk)
    assert refreshed.last_login is not None  # update_last_login ran through Signal.asend
