"""Offload: running blocking code in worker threads, and calling home from them.

Blocking code runs in a worker thread through :func:`run_sync`, bounded by
one ``CapacityLimiter`` per event loop, or, for the framework's hot paths
under Trio (a ``SyncConsumer`` handler), through :func:`run_in_pool` in the
process's offload :class:`~callboard.actors.WorkerPool`. The worker thread
remembers its *home*: the event loop that sent it; :func:`call_at_home` and
:func:`call_sync_at_home` take it back there. Async code that must run on
that loop — the in-memory layer, a consumer's ``send`` — is wrapped with
:func:`runs_at_home`: called on the home loop it runs directly; called
from elsewhere (a worker thread, or the private asyncio loop asgiref's
``async_to_sync`` starts in yet another thread) it hops home with
``anyio.from_thread.run`` and blocks the caller until done. Plain threads
the framework did not start (a Django view, a management command) reach
the process's primary loop, registered by the server with
:func:`set_primary_home` (or :func:`primary_home` for a block).

One hook lets a framework built on top wrap every offloaded call in its
worker thread: :func:`set_offload_wrapper`. The Django bridge installs one
that closes stale database connections before and after each call, so a
``SyncConsumer`` handler gets the same database hygiene as Channels gives it;
this module itself stays free of Django.

Not here: the pool itself (``_pool``), database hygiene around offloaded calls
(``callboard.django_bridge``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
import attrs
import trio
from anyio.lowlevel import EventLoopToken, RunVar, current_token

from ._pool import WorkerPool

__all__ = [
    "DEFAULT_THREAD_LIMIT",
    "Home",
    "OffloadWrapper",
    "bind_home",
    "call_at_home",
    "call_sync_at_home",
    "current_home",
    "current_offload_pool",
    "current_thread_limiter",
    "in_trio_task",
    "primary_home",
    "run_in_pool",
    "run_sync",
    "runs_at_home",
    "set_offload_wrapper",
    "set_primary_home",
]

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_THREAD_LIMIT = 40
"""Worker threads running blocking handlers at once, per event loop."""


@attrs.frozen
class Home:
    """An event loop that async callables should run on, and its thread."""

    token: EventLoopToken
    thread_id: int


OffloadWrapper = Callable[[Callable[[], Any]], Any]
"""Runs a zero-argument callable in the worker thread and returns its result."""

_wrapper: OffloadWrapper | None = None

_home: ContextVar[Home | None] = ContextVar("callboard_home", default=None)
_primary: Home | None = None
_limiter: RunVar[anyio.CapacityLimiter] = RunVar("callboard_thread_limiter")


def current_home() -> Home | None:
    """Return the loop this context belongs to: its own, a sender's, or the primary one."""
    home = _home.get()
    return home if home is not None else _primary


def set_primary_home() -> Home:
    """Make the running event loop the process's primary home and return it.

    Plain threads the framework did not start call home to this loop. The
    server sets it at start-up; call it yourself when you run your own loop.
    """
    global _primary
    home = Home(current_token(), threading.get_ident())
    _primary = home
    _home.set(home)
    return home


@contextlib.contextmanager
def primary_home() -> Iterator[Home]:
    """Make the running loop the process's primary home for the block.

    Afterwards the previous primary home is back, unless another loop has
    become primary meanwhile. ``callboard.server.serve`` runs in one, so a
    server on a loop that ends (a test's live server in a thread) does not
    leave plain threads calling home to a dead loop.
    """
    global _primary
    previous = _primary
    home = set_primary_home()
    try:
        yield home
    finally:
        if _primary == home:  # this loop, even if set again inside (a lifespan startup)
            _primary = previous


def bind_home(context: contextvars.Context | None = None) -> Home:
    """Make the running loop the home of the current context, and of ``context`` if given.

    Offloading does this for you; call it when you send work to a thread by
    other means, passing the context the work will run in.

    Returns:
        The running loop's :class:`Home`.
    """
    home = _home.get()
    if home is None or home.thread_id != threading.get_ident():
        home = Home(current_token(), threading.get_ident())
        _home.set(home)
    if context is not None and context.get(_home) is not home:
        context.run(_home.set, home)
    return home


def set_offload_wrapper(wrapper: OffloadWrapper | None) -> OffloadWrapper | None:
    """Route every later :func:`run_sync` call through ``wrapper`` in its worker thread.

    ``wrapper(call)`` runs in the worker thread, must call ``call()`` exactly
    once and return its result (or let its exception propagate). One wrapper
    per process: the Django bridge installs its database hygiene here when
    its app config is ready.

    Args:
        wrapper: the new wrapper, or ``None`` to remove it.

    Returns:
        The wrapper it replaced, so a caller can restore it.
    """
    global _wrapper
    previous, _wrapper = _wrapper, wrapper
    return previous


def current_thread_limiter() -> anyio.CapacityLimiter:
    """Return the running loop's limiter for :func:`run_sync` (created on first use)."""
    try:
        return _limiter.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(DEFAULT_THREAD_LIMIT)
        _limiter.set(limiter)
        return limiter


async def run_sync(
    function: Callable[..., T],
    *args: object,
    limiter: anyio.CapacityLimiter | None = None,
    abandon_on_cancel: bool = False,
) -> T:
    """Run a blocking callable in a worker thread and return its result.

    The thread's home is the calling loop, so :func:`runs_at_home` callables
    (and ``async_to_sync`` of them) used inside ``function`` come back here.
    The call passes through the wrapper set with :func:`set_offload_wrapper`,
    if any.

    Args:
        function: the blocking callable.
        *args: its positional arguments.
        limiter: bounds concurrent threads; the loop's shared one by default.
        abandon_on_cancel: let a cancelled caller return while the thread
            finishes in the background (its result is then discarded).

    Returns:
        What ``function`` returned.

    Raises:
        Exception: whatever ``function`` raised.

    Cancellation: by default the caller waits for the thread to finish.
    """
    bind_home()
    return await anyio.to_thread.run_sync(
        _wrapped(function, args),
        limiter=limiter if limiter is not None else current_thread_limiter(),
        abandon_on_cancel=abandon_on_cancel,
    )


_pool = WorkerPool(DEFAULT_THREAD_LIMIT, name="callboard-offload")


def current_offload_pool() -> WorkerPool:
    """Return the process's offload pool (:data:`DEFAULT_THREAD_LIMIT` threads at first).

    :func:`run_in_pool` runs calls there; resize it with its ``size``. It
    starts no thread until the first call.
    """
    return _pool


async def run_in_pool(function: Callable[..., T], *args: object) -> T:
    """Run a blocking callable in the process's offload pool and return its result.

    :func:`run_sync` for the framework's own hot paths under Trio (a sync
    consumer's handlers): a :class:`~callboard.actors.WorkerPool` instead of
    one ``to_thread`` hand-over per call, the wrapper set with
    :func:`set_offload_wrapper` applied, the thread's home bound. Under
    asyncio it is :func:`run_sync`. Code in the thread reaches the loop with
    :func:`call_at_home` (or ``async_to_sync``); ``anyio.from_thread.run``
    without a ``token`` does not work there.

    Args:
        function: the blocking callable.
        *args: its positional arguments.

    Returns:
        What ``function`` returned.

    Raises:
        Exception: whatever ``function`` raised.

    Cancellation: as :meth:`WorkerPool.run`.
    """
    if not in_trio_task():
        return await run_sync(function, *args)
    context = contextvars.copy_context()
    bind_home(context)
    return await current_offload_pool().run(_wrapped(function, args), context=context)


def _wrapped(function: Callable[..., T], args: tuple[object, ...]) -> Callable[[], T]:
    """``function(*args)`` as one call, through the offload wrapper if one is set."""
    call: Callable[[], T] = functools.partial(function, *args)
    wrapper = _wrapper
    return call if wrapper is None else functools.partial(wrapper, call)


def in_trio_task() -> bool:
    """Whether the caller is a Trio task on its loop's thread (and not asyncio inside one)."""
    # _get_running_loop is in asyncio.events' __all__; unlike get_running_loop it
    # does not raise, and this runs once per offloaded message.
    return trio.lowlevel.in_trio_task() and asyncio._get_running_loop() is None


def call_at_home(function: Callable[..., Coroutine[Any, Any, T]], *args: object) -> T:
    """From a worker thread, run ``await function(*args)`` on the thread's home loop.

    Blocks the thread until done and returns the result (raises its
    exception). The home is the loop that sent the thread its work, or the
    primary one; with none known, anyio's own worker-thread token is used.
    """
    home = current_home()
    if home is None:
        return anyio.from_thread.run(function, *args)
    return anyio.from_thread.run(function, *args, token=home.token)


def call_sync_at_home(function: Callable[..., T], *args: object) -> T:
    """From a worker thread, run the sync ``function(*args)`` on the home loop and return it."""
    home = current_home()
    if home is None:
        return anyio.from_thread.run_sync(function, *args)
    return anyio.from_thread.run_sync(function, *args, token=home.token)


def runs_at_home(
    method: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Wrap an async callable so it always runs on its home event loop.

    On the home loop's thread the wrapper awaits ``method`` directly (one
    context-variable read of overhead). Elsewhere it blocks the calling
    thread until the home loop has run it; with no home known it runs in
    place.
    """

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        home = _home.get() or _primary
        if home is None or home.thread_id == threading.get_ident():
            return await method(*args, **kwargs)
        return anyio.from_thread.run(functools.partial(method, *args, **kwargs), token=home.token)

    return wrapper
