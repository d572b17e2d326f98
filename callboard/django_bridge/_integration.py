"""Teaching asgiref and Django that Trio exists: four small, reversible patches.

Installed by :func:`install_trio_support` when callboard's app config is
ready; :func:`uninstall_trio_support` puts every original back. Each patch
acts only in a Trio task and defers to the original everywhere else, so
asyncio code in the same process (an async view on asgiref's private loop,
Django's own ASGI handler under uvicorn) sees no change:

1. ``asgiref.sync.SyncToAsync.__call__``: under Trio, runs the call through
   :func:`~callboard.django_bridge._trio_sync.call_sync_to_async` (asgiref's
   thread rules, Trio's waiting) instead of failing on
   ``asyncio.get_running_loop()``. This is what makes ``aget``, ``acreate``,
   ``async for`` over a queryset, ``asave`` of a session ... work.
2. ``asgiref.sync.AsyncToSync.__call__``: in a Trio task, refuses as asgiref
   refuses on an asyncio loop ("You cannot use AsyncToSync in the same thread
   as an async event loop"), instead of blocking the whole loop.
3. ``django.utils.asyncio.get_running_loop`` (what Django's
   ``SynchronousOnlyOperation`` guard asks): also answers inside a Trio task,
   so a sync ORM call made directly on the event loop raises instead of
   silently stalling every connection. ``DJANGO_ALLOW_ASYNC_UNSAFE`` still
   turns the guard off.
4. ``asyncio`` as seen by ``django.dispatch.dispatcher``: its ``gather`` runs
   the awaitables in a task group under Trio, so ``Signal.asend`` and
   ``asend_robust`` (used by ``alogin``, ``alogout``, ``aauthenticate``)
   work. One difference: when a receiver raises, the others are cancelled
   (``asyncio.gather`` lets them run on unobserved).

It also installs the database-hygiene wrapper around every
``callboard.actors.run_sync`` call (see ``_connections``).

Not here: the thread rules (``_trio_sync``), settings (``_setup``).
"""

from __future__ import annotations

import asyncio
import functools
import types
from collections.abc import Awaitable, Callable
from typing import Any, Final

import anyio
import attrs
import trio
from asgiref import sync as asgiref_sync

from callboard.actors import OffloadWrapper, in_trio_task, set_offload_wrapper

from ._connections import offload_wrapper
from ._db import current_database_pool
from ._trio_sync import call_sync_to_async

__all__ = ["install_trio_support", "trio_support_installed", "uninstall_trio_support"]

_REQUIRED: Final = {
    asgiref_sync.SyncToAsync: (
        "__call__",
        "single_thread_executor",
        "thread_sensitive_context",
        "context_to_thread_executor",
    ),
    asgiref_sync.AsyncToSync: ("__call__", "executors"),
}

_TRIO_IN_TASK: Final = "trio task"
"""What the patched ``get_running_loop`` returns in a Trio task (only its truth matters)."""


def _trio_gather(*awaitables: Awaitable[Any], return_exceptions: bool = False) -> Any:
    """``asyncio.gather`` for Django's dispatcher: asyncio's own, or a task group under Trio."""
    if not in_trio_task():
        return asyncio.gather(*awaitables, return_exceptions=return_exceptions)
    return _gather_in_task_group(awaitables, return_exceptions)


async def _gather_in_task_group(
    awaitables: tuple[Awaitable[Any], ...], return_exceptions: bool
) -> list[Any]:
    results: list[Any] = [None] * len(awaitables)

    async def run(index: int, awaitable: Awaitable[Any]) -> None:
        try:
            results[index] = await awaitable
        except Exception as exc:
            if not return_exceptions:
                raise
            results[index] = exc

    try:
        async with anyio.create_task_group() as task_group:
            for index, awaitable in enumerate(awaitables):
                task_group.start_soon(run, index, awaitable)
    except BaseExceptionGroup as group:
        first = group.exceptions[0]
        if isinstance(first, Exception) and all(isinstance(e, Exception) for e in group.exceptions):
            raise first from None
        raise
    return results


class _DispatcherAsyncio(types.ModuleType):
    """``asyncio`` with a Trio-aware ``gather``, for ``django.dispatch.dispatcher`` only."""

    gather = staticmethod(_trio_gather)

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


def _get_running_loop() -> Any:
    """``asyncio.get_running_loop`` that also answers (truthily) in a Trio task."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        if trio.lowlevel.in_trio_task():
            return _TRIO_IN_TASK
        raise


@attrs.define(kw_only=True)
class _Originals:
    sync_to_async_call: Callable[..., Any]
    async_to_sync_call: Callable[..., Any]
    get_running_loop: Callable[[], Any]
    dispatcher_asyncio: types.ModuleType
    offload: OffloadWrapper | None


_installed: _Originals | None = None


def _check_asgiref() -> None:
    missing = [
        f"{cls.__name__}.{name}"
        for cls, names in _REQUIRED.items()
        for name in names
        if not hasattr(cls, name)
    ]
    if missing:
        version = getattr(__import__("asgiref"), "__version__", "?")
        raise RuntimeError(
            f"asgiref {version} lacks {', '.join(missing)}, which callboard's Trio support "
            "needs. Install a supported version: asgiref>=3.8,<4."
        )


def trio_support_installed() -> bool:
    """Whether :func:`install_trio_support` is in effect."""
    return _installed is not None


def install_trio_support() -> None:
    """Patch asgiref and Django so that Django's async APIs work under Trio (idempotent).

    See the module docstring for the four patches; each one defers to the
    original outside a Trio task. callboard's app config calls this in
    ``ready()``.

    Raises:
        RuntimeError: the installed asgiref lacks what the patches rely on.
    """
    global _installed
    if _installed is not None:
        return
    _check_asgiref()
    import django.dispatch.dispatcher as dispatcher
    import django.utils.asyncio as django_asyncio

    sync_to_async = asgiref_sync.SyncToAsync
    async_to_sync = asgiref_sync.AsyncToSync
    originals = _Originals(
        sync_to_async_call=sync_to_async.__call__,
        async_to_sync_call=async_to_sync.__call__,
        get_running_loop=django_asyncio.get_running_loop,
        dispatcher_asyncio=dispatcher.asyncio,
        offload=None,
    )
    original_s2a = originals.sync_to_async_call
    original_a2s = originals.async_to_sync_call

    @functools.wraps(original_s2a)
    async def sync_to_async_call(self: Any, *args: Any, **kwargs: Any) -> Any:
        if in_trio_task():
            return await call_sync_to_async(self, args, kwargs, pool=current_database_pool())
        return await original_s2a(self, *args, **kwargs)

    @functools.wraps(original_a2s)
    def async_to_sync_call(self: Any, *args: Any, **kwargs: Any) -> Any:
        if in_trio_task():
            raise RuntimeError(
                "You cannot use AsyncToSync in the same thread as an async event loop - "
                "just await the async function directly. (This thread runs a Trio event "
                "loop: blocking it here would stall every connection.)"
            )
        return original_a2s(self, *args, **kwargs)

    sync_to_async.__call__ = sync_to_async_call  # type: ignore[method-assign]  # the patch itself
    async_to_sync.__call__ = async_to_sync_call  # type: ignore[method-assign]  # the patch itself
    django_asyncio.get_running_loop = _get_running_loop
    dispatcher.asyncio = _DispatcherAsyncio("asyncio")
    originals.offload = set_offload_wrapper(offload_wrapper)
    _installed = originals


def uninstall_trio_support() -> None:
    """Undo :func:`install_trio_support`, restoring every original (idempotent)."""
    global _installed
    originals = _installed
    if originals is None:
        return
    import django.dispatch.dispatcher as dispatcher
    import django.utils.asyncio as django_asyncio

    asgiref_sync.SyncToAsync.__call__ = originals.sync_to_async_call  # type: ignore[method-assign]  # restore
    asgiref_sync.AsyncToSync.__call__ = originals.async_to_sync_call  # type: ignore[method-assign]  # restore
    django_asyncio.get_running_loop = originals.get_running_loop
    dispatcher.asyncio = originals.dispatcher_asyncio
    set_offload_wrapper(originals.offload)
    _installed = None
