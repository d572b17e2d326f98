"""ORM work from async code: ``database_sync_to_async`` and ``database_run_sync``, bounded, clean.

Each call runs in a thread of the bridge's database pool (a
``callboard.actors.WorkerPool`` of ``CALLBOARD["DATABASE_THREAD_LIMIT"]``
threads; under asyncio, a thread bounded by a limiter of that size), with
``close_old_connections()`` before and after (Channels'
``DatabaseSyncToAsync`` does the same). Every thread has its own
connection, so ORM calls of different consumers run in parallel; Channels
instead sends them all through one thread. ``thread_sensitive=True`` keeps
asgiref's rule for code that needs it: the call runs in asgiref's single
thread-sensitive thread (or an ``async_to_sync`` caller's thread).

Works under Trio and asyncio alike.

Not here: how a call reaches its thread (``_trio_sync``), the hygiene itself
(``_connections``).
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar, overload

import anyio
from anyio.lowlevel import RunVar
from asgiref.sync import SyncToAsync, iscoroutinefunction, markcoroutinefunction

from callboard.actors import WorkerPool, in_trio_task

from ._config import DEFAULT_DATABASE_THREAD_LIMIT, bridge_config
from ._connections import Hygiene, run_with_hygiene
from ._trio_sync import call_sync_to_async, restore_context, run_in_thread

__all__ = [
    "DatabaseSyncToAsync",
    "aclose_old_connections",
    "current_database_limiter",
    "current_database_pool",
    "database_run_sync",
    "database_sync_to_async",
]

P = ParamSpec("P")
R = TypeVar("R")

_limiter: RunVar[anyio.CapacityLimiter] = RunVar("callboard_database_limiter")
_pool = WorkerPool(DEFAULT_DATABASE_THREAD_LIMIT, name="callboard-db")
"""ORM calls from Trio; no thread starts until the first call."""


def current_database_pool() -> WorkerPool:
    """Return the process's database worker pool, which ORM calls from Trio run in.

    Its size is ``CALLBOARD["DATABASE_THREAD_LIMIT"]``, followed when the
    setting changes. Each of its threads keeps its own database connections.
    """
    size = bridge_config().database_thread_limit
    if _pool.size != size:
        _pool.size = size
    return _pool


def current_database_limiter() -> anyio.CapacityLimiter:
    """Return the running event loop's database limiter (made on first use).

    It bounds ORM calls from asyncio (under Trio they run in
    :func:`current_database_pool`). Its size is
    ``CALLBOARD["DATABASE_THREAD_LIMIT"]``, followed when the setting changes.
    """
    size = bridge_config().database_thread_limit
    try:
        limiter = _limiter.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(size)
        _limiter.set(limiter)
    else:
        if limiter.total_tokens != size:
            limiter.total_tokens = size
    return limiter


async def database_run_sync(function: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Run blocking ORM code in a worker thread and return its result.

    ``await database_run_sync(Note.objects.create, text="hi")``. The plain
    form of :func:`database_sync_to_async`: a pool thread, the database
    limiter, ``close_old_connections()`` before and after, the caller's
    context variables carried there and back.

    Args:
        function: the blocking callable.
        *args: its positional arguments.
        **kwargs: its keyword arguments.

    Returns:
        What ``function`` returned.

    Raises:
        Exception: whatever ``function`` raised.

    Cancellation: the caller waits for the call to finish (a thread cannot be
    interrupted); the result is then discarded.
    """
    context = contextvars.copy_context()
    on_trio = in_trio_task()
    try:
        return await run_in_thread(
            functools.partial(function, *args, **kwargs),
            context=context,
            executor=None,
            limiter=None if on_trio else current_database_limiter(),
            hygiene=Hygiene.FULL,
            pool=current_database_pool() if on_trio else None,
        )
    finally:
        restore_context(context)


class DatabaseSyncToAsync(Generic[P, R]):
    """A sync function made awaitable, run with database hygiene (Channels' class name).

    Use it through :func:`database_sync_to_async`. Works on methods too: the
    instance is passed as ``self``.

    Args:
        function: the blocking callable.
        thread_sensitive: run in asgiref's thread-sensitive thread instead of
            the pool (for code that must share one thread; serialises calls).

    Raises:
        TypeError: ``function`` is a coroutine function.
    """

    def __init__(self, function: Callable[P, R], *, thread_sensitive: bool = False) -> None:
        if not callable(function) or _is_async(function):
            raise TypeError(
                f"database_sync_to_async() needs a sync function; {function!r} is async. "
                "Await it directly instead."
            )
        self.func = function
        self.thread_sensitive = thread_sensitive
        functools.update_wrapper(self, function)
        markcoroutinefunction(self)

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the function in a worker thread and return its result."""
        if not self.thread_sensitive:
            return await database_run_sync(self.func, *args, **kwargs)
        if in_trio_task():
            wrapper: SyncToAsync[..., R] = SyncToAsync(self.func, thread_sensitive=True)
            result: R = await call_sync_to_async(
                wrapper, args, kwargs, pool=current_database_pool(), hygiene=Hygiene.FULL
            )
            return result
        hygienic = functools.partial(_with_full_hygiene, self.func)
        return await SyncToAsync(hygienic, thread_sensitive=True)(*args, **kwargs)

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        """Bind to ``instance`` like a method."""
        if instance is None:
            return self
        call: Callable[..., Any] = self.__call__
        return functools.partial(call, instance)


def _with_full_hygiene(function: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    return run_with_hygiene(functools.partial(function, *args, **kwargs), Hygiene.FULL)


def _is_async(function: object) -> bool:
    return iscoroutinefunction(function) or iscoroutinefunction(
        getattr(function, "__call__", None)  # noqa: B004 - a callable object's __call__
    )


@overload
def database_sync_to_async(
    function: Callable[P, R], /, *, thread_sensitive: bool = False
) -> DatabaseSyncToAsync[P, R]: ...


@overload
def database_sync_to_async(
    *, thread_sensitive: bool = False
) -> Callable[[Callable[P, R]], DatabaseSyncToAsync[P, R]]: ...


def database_sync_to_async(
    function: Callable[P, R] | None = None, /, *, thread_sensitive: bool = False
) -> DatabaseSyncToAsync[P, R] | Callable[[Callable[P, R]], DatabaseSyncToAsync[P, R]]:
    """Make a blocking ORM function awaitable (Channels' name; decorator or call).

    ``@database_sync_to_async`` on a function or method,
    ``database_sync_to_async(fn)(*args)``, or
    ``@database_sync_to_async(thread_sensitive=True)``.

    Unlike Channels, calls run in parallel in a bounded pool of threads
    (``CALLBOARD["DATABASE_THREAD_LIMIT"]``), each with its own connection,
    unless ``thread_sensitive=True``.

    Args:
        function: the blocking callable; omit it for the decorator-factory form.
        thread_sensitive: run in asgiref's one thread-sensitive thread.

    Returns:
        An awaitable callable (a :class:`DatabaseSyncToAsync`), or a decorator.

    Raises:
        TypeError: ``function`` is a coroutine function.
    """
    if function is None:
        return functools.partial(DatabaseSyncToAsync, thread_sensitive=thread_sensitive)
    return DatabaseSyncToAsync(function, thread_sensitive=thread_sensitive)


async def aclose_old_connections() -> None:
    """Close this thread's stale database connections from async code (Channels' name).

    With callboard every offloaded call already does this; it exists so code
    ported from Channels keeps working. It runs ``close_old_connections()``
    in a pool thread.
    """
    from django.db import close_old_connections

    await database_run_sync(close_old_connections)
