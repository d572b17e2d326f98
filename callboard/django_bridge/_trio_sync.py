"""asgiref's ``SyncToAsync`` under Trio: which thread runs a call, how Trio waits, what is refused.

asgiref's ``SyncToAsync.__call__`` starts with ``asyncio.get_running_loop()``
and waits with ``loop.run_in_executor``. Under Trio, :func:`call_sync_to_async`
takes its place (the integration in ``_integration`` routes there) and keeps
asgiref's rules for *which* thread:

- ``thread_sensitive=True``: the thread of an ``async_to_sync`` caller further
  up, if its executor is visible here; else the executor of the enclosing
  ``ThreadSensitiveContext``; else asgiref's one process-wide
  thread-sensitive thread (the one asyncio code in this process uses too).
- ``thread_sensitive=False``: the given executor, or else the bridge's
  database pool (a ``callboard.actors.WorkerPool``) instead of the loop's
  default executor.

Context variables travel as asgiref moves them: the call runs in a copy of
the caller's context (or the given ``context``), and what it sets is copied
back. Cancellation waits for the call to finish (a thread cannot be
interrupted), unless it had not started yet. A thread-sensitive call that
would need a thread blocked waiting for it is refused with
:class:`ThreadReentryError` instead of deadlocking.

Trio-only: waiting on an executor's future uses Trio's ``run_sync_soon``.

Not here: installing the route (``_integration``), connection hygiene (``_connections``).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

import anyio
import trio
from asgiref import sync as asgiref_sync

from callboard.actors import WorkerPool, bind_home, run_sync

from ._connections import Hygiene, run_with_hygiene
from ._errors import ThreadReentryError

__all__ = [
    "call_sync_to_async",
    "restore_context",
    "run_in_thread",
    "wait_for_future",
]

T = TypeVar("T")

_running_on: contextvars.ContextVar[Executor | None] = contextvars.ContextVar(
    "callboard_running_on_executor", default=None
)
"""The single-thread executor whose thread runs the current sync call (in its context only)."""


def restore_context(context: contextvars.Context) -> None:
    """Copy ``context``'s variables into the current context, as asgiref does at its boundaries.

    Uses asgiref's own helper where it has one (newer versions also re-home
    ``asgiref.local.Local`` storage to the current thread there).
    """
    helper = getattr(asgiref_sync, "_restore_context", None)
    if helper is not None:
        helper(context)
        return
    for variable in context:  # pragma: no cover - every supported asgiref has the helper
        value = context[variable]
        if variable.get(None) is not value:
            variable.set(value)


async def wait_for_future(future: Future[T]) -> T:
    """Wait, under Trio, for a ``concurrent.futures.Future`` and return its result.

    Cancellation: a future that has not started is cancelled at once;
    otherwise the wait goes on, shielded, until it finishes, then
    ``Cancelled`` propagates.
    """
    done = trio.Event()
    token = trio.lowlevel.current_trio_token()

    def wake(_: Future[T]) -> None:
        with contextlib.suppress(trio.RunFinishedError):
            token.run_sync_soon(done.set)

    future.add_done_callback(wake)
    try:
        await done.wait()
    except BaseException:
        if not future.cancel():
            with anyio.CancelScope(shield=True):
                await done.wait()
        raise
    return future.result()


async def run_in_thread(
    function: Callable[[], T],
    *,
    context: contextvars.Context,
    executor: Executor | None,
    limiter: anyio.CapacityLimiter | None,
    hygiene: Hygiene,
    owner: Executor | None = None,
    pool: WorkerPool | None = None,
) -> T:
    """Run ``function`` in ``context`` in a worker thread and return its result.

    Args:
        function: the blocking work, without arguments.
        context: the context it runs in (asgiref re-homing applied in the thread).
        executor: run it there; ``None`` for ``pool``, or else ``callboard.actors.run_sync``.
        limiter: bounds ``run_sync`` (ignored with an executor or a pool).
        hygiene: the database hygiene around the call.
        owner: a single-thread executor whose thread this is, marked in the
            call's context so a re-entry can be recognised.
        pool: the worker pool to run it in when there is no executor.

    Raises:
        Exception: whatever ``function`` raised.
    """

    def in_context() -> T:
        token = _running_on.set(owner) if owner is not None else None
        try:
            restore_context(context)
            return run_with_hygiene(function, hygiene)
        finally:
            if token is not None:
                _running_on.reset(token)

    def in_thread() -> T:
        return context.run(in_context)

    if executor is None:
        if pool is not None:
            bind_home(context)
            return await pool.run(in_context, context=context)
        return await run_sync(in_thread, limiter=limiter)
    return await wait_for_future(executor.submit(in_thread))


def _sensitive_executor(function_name: str) -> tuple[Executor, Hygiene]:
    """Pick the thread for a thread-sensitive call, by asgiref's rules.

    Raises:
        ThreadReentryError: that thread is the one running the sync code that
            entered this async code with ``from_thread.run`` (it is blocked).
    """
    target: Executor
    parent = getattr(asgiref_sync.AsyncToSync.executors, "current", None)
    context_key = asgiref_sync.SyncToAsync.thread_sensitive_context.get(None)
    if parent is not None:
        target, hygiene = parent, Hygiene.NONE
    elif context_key is not None:
        if getattr(context_key, "_exited", False):
            raise RuntimeError(
                "ThreadSensitiveContext has exited. Tasks created inside a context with "
                "an executor must finish before it exits."
            )
        executors = asgiref_sync.SyncToAsync.context_to_thread_executor
        known = executors.get(context_key)
        if known is None:
            known = executors[context_key] = _new_single_thread_executor()
        target, hygiene = known, Hygiene.NONE
    else:
        target, hygiene = asgiref_sync.SyncToAsync.single_thread_executor, Hygiene.HEALTH
    if _running_on.get() is target:
        raise ThreadReentryError(function_name)
    return target, hygiene


def _new_single_thread_executor() -> Executor:
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=1)


def _name(function: Callable[..., Any]) -> str:
    return str(getattr(function, "__qualname__", None) or repr(function))


async def call_sync_to_async(
    wrapper: asgiref_sync.SyncToAsync[Any, Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    pool: WorkerPool,
    hygiene: Hygiene | None = None,
) -> Any:
    """Run a ``SyncToAsync`` call under Trio (what its ``__call__`` does under asyncio).

    Args:
        wrapper: the ``SyncToAsync`` instance (``sync_to_async(f)``).
        args: positional arguments for its function.
        kwargs: keyword arguments for its function.
        pool: runs ``thread_sensitive=False`` calls that have no executor.
        hygiene: override the database hygiene on the shared threads (a
            caller's own thread keeps ``NONE``).

    Returns:
        What the function returned.

    Raises:
        ThreadReentryError: a thread-sensitive call would deadlock.
        Exception: whatever the function raised.

    Cancellation: waits for a call that has started to finish.
    """
    function = wrapper.func
    given = getattr(wrapper, "context", None)
    context = contextvars.copy_context() if given is None else given
    owner: Executor | None = None
    executor: Executor | None
    if wrapper._thread_sensitive:
        executor, level = _sensitive_executor(_name(function))
        owner = executor
    else:
        executor = wrapper._executor
        level = Hygiene.FULL if executor is None else Hygiene.HEALTH
    if hygiene is not None and level is not Hygiene.NONE:
        level = hygiene
    try:
        return await run_in_thread(
            functools.partial(function, *args, **kwargs),
            context=context,
            executor=executor,
            limiter=None,
            hygiene=level,
            owner=owner,
            pool=pool,
        )
    finally:
        if given is None:
            restore_context(context)
