"""Database connections in worker threads: hygiene around each call, kept connections, test sharing.

Django's connections are per thread. Every bridge call into a worker thread
runs through :func:`run_with_hygiene`, at one of three levels:

- ``FULL`` (``database_sync_to_async``, every ``callboard.actors.run_sync``
  call such as a ``SyncConsumer`` handler, Django requests):
  ``close_old_connections()`` before and after, exactly what Django does
  around a request and Channels around ``database_sync_to_async``. With
  ``CONN_MAX_AGE = 0`` the connection is closed after every call; with more,
  the thread keeps it between calls until it is too old.
- ``HEALTH`` (asgiref's ``sync_to_async`` under Trio on the shared
  thread-sensitive thread): a broken connection, or one left outside
  autocommit, is closed before the call, but ``CONN_MAX_AGE`` is not applied,
  because Django's async ORM keeps a cursor open across calls there
  (``aiterator()``).
- ``NONE`` (a thread owned by a caller further up, such as asgiref's
  ``async_to_sync`` parent thread): its owner decides.

Connections left open in worker threads are remembered, so that
:func:`close_pooled_connections` can close them at shutdown (a worker thread
that exits idle would otherwise take an open connection with it), and those of
threads that have exited are closed by the next call.

:func:`share_connections` is for tests that hold a transaction open on the
test's thread (pytest-django's ``db``, Django's ``TestCase``): worker threads
then use that thread's connections, one call at a time.

Not here: which thread a call runs in (``_trio_sync``, ``_db``).
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import attrs
from django.core import signals
from django.db import close_old_connections, connections

__all__ = [
    "Hygiene",
    "close_pooled_connections",
    "offload_wrapper",
    "run_with_hygiene",
    "share_connections",
    "sharing_connections",
]

logger = logging.getLogger("callboard.django_bridge")

T = TypeVar("T")


class Hygiene(enum.Enum):
    """What a bridge call does about the worker thread's database connections."""

    FULL = "full"
    """``close_old_connections()`` before and after (Django's request boundary)."""
    HEALTH = "health"
    """Close broken connections before the call; no ``CONN_MAX_AGE``."""
    NONE = "none"
    """Nothing: the thread belongs to a caller further up."""


class _ThreadState(threading.local):
    depth: int = 0
    """Bridge calls this thread is inside (0 or 1: nested ones run bare)."""


_local = _ThreadState()


def _close_foreign(connection: Any) -> None:
    """Close a connection that belongs to another (idle or ended) thread."""
    connection.inc_thread_sharing()
    try:
        connection.close()
    except Exception:
        logger.warning("Could not close database connection %r.", connection.alias, exc_info=True)
    finally:
        connection.dec_thread_sharing()


@attrs.define(eq=False)
class _Kept:
    thread: weakref.ref[threading.Thread]
    connection: Any


@attrs.define(eq=False)
class _Keeper:
    """Connections that worker threads keep open between calls, and which threads are busy."""

    _lock: threading.Lock = attrs.field(factory=threading.Lock)
    _busy: set[int] = attrs.field(factory=set)
    _kept: dict[int, _Kept] = attrs.field(factory=dict)

    def enter(self) -> None:
        with self._lock:
            self._busy.add(threading.get_ident())

    def leave(self) -> None:
        thread = threading.current_thread()
        opened = list(connections.all(initialized_only=True))
        with self._lock:
            self._busy.discard(thread.ident or 0)
            for connection in opened:
                if connection.connection is not None:
                    self._kept[id(connection)] = _Kept(weakref.ref(thread), connection)
                else:
                    self._kept.pop(id(connection), None)
            if len(self._kept) > len(opened):
                self._close_where(lambda owner: owner is None or not owner.is_alive())

    def close_idle(self) -> int:
        with self._lock:
            return self._close_where(lambda owner: owner is None or owner.ident not in self._busy)

    def _close_where(self, closable: Callable[[threading.Thread | None], bool]) -> int:
        closed = [key for key, kept in self._kept.items() if closable(kept.thread())]
        for key in closed:
            _close_foreign(self._kept.pop(key).connection)
        return len(closed)


_keeper = _Keeper()


def _check_health() -> None:
    """Django's ``close_if_unusable_or_obsolete`` without the ``CONN_MAX_AGE`` part."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is None or connection.in_atomic_block:
            continue
        connection.health_check_done = False
        if connection.get_autocommit() != connection.settings_dict["AUTOCOMMIT"]:
            connection.close()
        elif connection.errors_occurred:
            if connection.is_usable():
                connection.errors_occurred = False
                connection.health_check_done = True
            else:
                connection.close()


def run_with_hygiene(call: Callable[[], T], level: Hygiene = Hygiene.FULL) -> T:
    """Run ``call()`` in this worker thread with the database hygiene of ``level``.

    A call nested in another bridge call of the same thread runs bare: the
    outer call owns the thread's connections. While :func:`share_connections`
    is active, every call uses the sharing thread's connections instead.

    Args:
        call: the work, without arguments.
        level: see :class:`Hygiene`.

    Returns:
        What ``call()`` returned.

    Raises:
        Exception: whatever ``call()`` raised.
    """
    sharing = _sharing
    if sharing is not None:
        return sharing.run(call)
    if level is Hygiene.NONE or _local.depth:
        return call()
    _local.depth = 1
    _keeper.enter()
    try:
        if level is Hygiene.FULL:
            close_old_connections()
        else:
            _check_health()
        try:
            return call()
        finally:
            if level is Hygiene.FULL:
                close_old_connections()
    finally:
        _local.depth = 0
        _keeper.leave()


def offload_wrapper(call: Callable[[], T]) -> T:
    """The wrapper the bridge installs with ``callboard.actors.set_offload_wrapper``.

    Every ``callboard.actors.run_sync`` call (a ``SyncConsumer`` handler, a
    sync consumer's ``connect``) gets ``FULL`` hygiene, as Channels gives it.
    """
    return run_with_hygiene(call, Hygiene.FULL)


def close_pooled_connections() -> int:
    """Close every database connection that idle worker threads keep open between calls.

    Call it at shutdown (``runserver`` and ``runworker`` do), and in tests
    before dropping a test database. A thread that is running a call keeps
    its connections.

    Returns:
        How many connections were closed.

    Raises:
        SynchronousOnlyOperation: called from a task on the event loop; call
            it outside the loop, or through ``database_run_sync``.
    """
    return _keeper.close_idle()


# -- sharing the test thread's connections --------------------------------------------------

_holds_shared: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "callboard_holds_shared_connections", default=False
)


@attrs.define(eq=False)
class _Sharing:
    """Worker threads use ``connections`` of the sharing thread, one call at a time."""

    connections: dict[str, Any]
    lock: threading.RLock = attrs.field(factory=threading.RLock)

    def run(self, call: Callable[[], T]) -> T:
        if _holds_shared.get():
            # Re-entered through from_thread.run by the call holding the lock,
            # which is blocked until this returns: no one else uses them now.
            return self._run_with(call)
        with self.lock:
            token = _holds_shared.set(True)
            try:
                return self._run_with(call)
            finally:
                _holds_shared.reset(token)

    def _run_with(self, call: Callable[[], T]) -> T:
        saved = {alias: connections[alias] for alias in self.connections}
        for alias, connection in self.connections.items():
            connections[alias] = connection
        try:
            return call()
        finally:
            for alias, connection in saved.items():
                connections[alias] = connection


_sharing: _Sharing | None = None


def sharing_connections() -> bool:
    """Return whether :func:`share_connections` is active."""
    return _sharing is not None


@contextlib.contextmanager
def share_connections() -> Iterator[None]:
    """Make worker threads use this thread's database connections for the block.

    For tests that wrap their work in a transaction on the test's thread
    (pytest-django's ``db`` fixture, Django's ``TestCase``): without it, a
    worker thread has its own connection and cannot see the uncommitted
    rows. Inside the block every bridge call (``database_sync_to_async``, the
    async ORM, sync consumer handlers, Django requests) uses this thread's
    connections, one call at a time, and ``close_old_connections`` is not
    called (it would end the test's transaction), also not on Django's
    request signals.

    Use it around the test, outside the event loop, in the thread that holds
    the transaction (a fixture does this)::

        @pytest.fixture
        def shared_db(db):
            with share_connections():
                yield

    Raises:
        RuntimeError: it is already active.

    Lifetime: restores the previous behaviour on exit.
    """
    global _sharing
    if _sharing is not None:
        raise RuntimeError("share_connections() is already active; it does not nest.")
    shared = {alias: connections[alias] for alias in connections}
    for connection in shared.values():
        connection.inc_thread_sharing()
    started = signals.request_started.disconnect(close_old_connections)
    finished = signals.request_finished.disconnect(close_old_connections)
    _sharing = _Sharing(shared)
    try:
        yield
    finally:
        _sharing = None
        if started:
            signals.request_started.connect(close_old_connections)
        if finished:
            signals.request_finished.connect(close_old_connections)
        for connection in shared.values():
            connection.dec_thread_sharing()
