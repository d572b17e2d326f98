"""AsyncConsumer and SyncConsumer: Channels' consumer classes, each an actor speaking ASGI.

One consumer instance serves one connection (one ASGI scope). It is an
:class:`~callboard.actors.Actor`: its address is ``self.channel_name``; ASGI
events from the server (pumped from ``receive()``) and channel-layer messages
arrive in its one bounded mailbox and are handled one at a time, so a handler
never races another handler of the same consumer. There is no thread hop per
message: only a ``SyncConsumer``'s handlers run in worker threads.

A handler's exception ends this connection alone: it is logged once with its
traceback, the connection is closed (WebSocket 1011, HTTP 500) and no other
connection notices. Whatever way the connection ends, its address is
unregistered and its group memberships (presence included) released under a
shielded deadline.

On shutdown a consumer first handles what its mailbox already holds, then
closes (WebSocket 1001). A class's ``rate_limit`` is applied by the pump,
before inbound client messages reach the mailbox; without one the pump does
no work per message beyond the move.

Not here: the WebSocket and HTTP protocol helpers (``_websocket``, ``_http``).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

import anyio
import attrs

from callboard._asgi import ASGIApp, Receive, Scope, Send
from callboard.actors import (
    PRESENCE_EVENT,
    Actor,
    Overflowed,
    call_at_home,
    call_sync_at_home,
    current_runtime,
    run_in_pool,
)
from callboard.actors._actor import reserve_handler_names
from callboard.exceptions import NoHandlerError, StopConsumer
from callboard.layers import DEFAULT_CHANNEL_LAYER, ChannelLayer, get_channel_layer

from ._initkwargs import check_initkwargs, check_mailbox_options
from ._presence import ConsumerPresence, PresenceFlush
from ._ratelimit import RateLimit, RateLimitExceeded, pump_limited
from ._stats import ConnectionCounters, connection_counters

__all__ = ["AsyncConsumer", "SyncConsumer"]

logger = logging.getLogger("callboard.consumers")

CLEANUP_TIMEOUT = 5.0
"""Default bound, in seconds, on each cleanup step after a crash or cancellation
(telling the client, leaving the groups)."""

_DISCONNECT_EVENTS = frozenset({"websocket.disconnect", "http.disconnect"})


_F = TypeVar("_F", bound=Callable[..., None])


def base_init(init: _F) -> _F:
    """Mark one of callboard's own ``__init__`` methods.

    ``as_asgi()`` checks its keywords against the class attributes, and against
    the signature of the first ``__init__`` that is not so marked (a user's).
    """
    init._callboard_base_init = True  # type: ignore[attr-defined]  # a marker on the function
    return init


def _is_disconnect_event(item: object) -> bool:
    return type(item) is dict and item.get("type") in _DISCONNECT_EVENTS


@attrs.frozen
class ShutdownRequested:
    """Signal to a consumer: the server is shutting down; finish this connection."""


class AsyncConsumer(ConsumerPresence, Actor):
    """Base consumer: dispatches every message by its ``type`` to an async handler.

    Subclass it (or, usually, one of the WebSocket/HTTP consumers) and define
    ``async def <type with dots as underscores>(self, message)``. Raise
    :class:`~callboard.exceptions.StopConsumer` in a handler to end cleanly.

    Class attributes:
        channel_layer_alias: which configured layer ``self.channel_layer`` is.
        mailbox_capacity: the mailbox's size (default 100, like Channels).
        overflow_policy: what a full mailbox does (default ``"drop_newest"``).
        cleanup_timeout: bound, in seconds, on each cleanup step (closing the
            connection after a crash, leaving groups a handler did not leave).
        rate_limit: a :class:`~callboard.consumers.RateLimit` on the messages
            the client sends, or ``None`` (default: no limit).
        presence_groups, presence_events, presence_batch_interval: see
            :class:`~callboard.consumers.ConsumerPresence`.

    Instance attributes (set when the connection starts):
        scope, channel_layer, channel_name, base_send.
    """

    _sync: ClassVar[bool] = False
    channel_layer_alias: ClassVar[str] = DEFAULT_CHANNEL_LAYER
    cleanup_timeout: ClassVar[float] = CLEANUP_TIMEOUT
    rate_limit: ClassVar[RateLimit | None] = None

    scope: Scope
    channel_layer: ChannelLayer | None
    channel_name: str
    base_send: Send
    _task_group: anyio.abc.TaskGroup | None = None
    _serve_scope: anyio.CancelScope | None = None
    _failure: BaseException | None = None
    _peer_closed: bool = False
    _send_closed: bool = False  # the peer has gone or we closed: sends are dropped
    _joined_groups: tuple[str, ...] = ()
    _loop_thread: int | None = None
    _counters: ConnectionCounters | None = None
    _shutting_down: bool = False

    @base_init
    def __init__(self, **kwargs: Any) -> None:
        for key, value in kwargs.items():
            setattr(self, key, value)

    # -- ASGI entry point ----------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one connection: the ASGI application entry point."""
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        self._loop_thread = threading.get_ident()
        runtime = current_runtime()
        self._counters = connection_counters(runtime)
        try:
            enrollment = runtime.enroll(self)
        except RuntimeError:  # the server began to shut down while this connection arrived
            await self._refuse_while_stopping()
            return
        with self.attach(runtime) as mailbox, enrollment:
            self.channel_name = mailbox.name
            try:
                async with anyio.create_task_group() as task_group:
                    self._task_group = task_group
                    task_group.start_soon(self._pump, receive)
                    with anyio.CancelScope() as self._serve_scope:
                        try:
                            await self.serve()
                        except StopConsumer:
                            pass
                        except Exception as exc:
                            if self._failure is None:  # a spawned task may have failed first
                                self._failure = exc
                    task_group.cancel_scope.cancel()
            except anyio.get_cancelled_exc_class():
                # Cancelled (the shutdown grace ran out, or the server's task
                # was cancelled): say goodbye properly rather than leave the
                # server to report an internal error.
                if not self._send_closed:
                    with anyio.move_on_after(self.cleanup_timeout, shield=True):
                        await self.on_cancelled()
                raise
            finally:
                self._task_group = None
                # The connection's own disconnect event, queued after the consumer
                # ended on purpose, is not an undelivered message.
                mailbox.take_while_nowait(_is_disconnect_event)
                failure = self._failure
                if failure is not None:
                    with anyio.move_on_after(self.cleanup_timeout, shield=True):
                        await self._crashed(failure)
                # Groups a handler did not leave (it raised, the task was
                # cancelled, the disconnect was never handled) are left here.
                if self._joined_groups:
                    with anyio.move_on_after(self.cleanup_timeout, shield=True):
                        await self._release_groups()
                if self._presence_joined or self._presence_watching:
                    with anyio.move_on_after(self.cleanup_timeout, shield=True):
                        await self._release_presence()

    async def _refuse_while_stopping(self) -> None:
        """Answer a connection that arrived as the server stopped: refuse it, log no error.

        A WebSocket handshake is refused (HTTP 403), an HTTP request gets 503;
        the client may retry against the next server.
        """
        logger.info(
            "%s refused a connection (path %r): the server is shutting down.",
            type(self).__qualname__,
            self.scope.get("path"),
        )
        with anyio.move_on_after(self.cleanup_timeout, shield=True):
            await self.on_cancelled()

    async def _pump(self, receive: Receive) -> None:
        """Move ASGI events from the server into the mailbox, with backpressure."""
        mailbox = self.mailbox
        assert mailbox is not None
        limit = self.rate_limit
        if limit is not None:
            await pump_limited(self, receive, mailbox, limit)
            return
        capacity = mailbox.capacity
        while True:
            event = await receive()  # the server's receive is this loop's checkpoint
            if event.get("type") in _DISCONNECT_EVENTS:
                self._peer_gone(event)
                await mailbox.send(event)
                return
            if len(mailbox) < capacity:
                mailbox.send_nowait(event)  # room: a put, no second trip through the scheduler
            else:
                await mailbox.send(event)  # full: wait for room (backpressure on this client)

    def _peer_gone(self, event: Any) -> None:
        """The client has gone (its disconnect event is about to be queued)."""
        self._peer_closed = self._send_closed = True

    async def _crashed(self, failure: BaseException) -> None:
        logger.error(
            "%s at %r crashed; closing this connection alone (path %r).",
            type(self).__qualname__,
            getattr(self, "channel_name", None),
            self.scope.get("path"),
            exc_info=failure,
        )
        if self._counters is not None:
            self._counters.crashes += 1
        extensions = self.scope.get("extensions") or {}
        report = (extensions.get("callboard.test") or {}).get("report_exception")
        if report is not None:
            report(failure)
        if not self._peer_closed:
            try:
                await self.on_crash(failure)
            except Exception:
                logger.debug(
                    "Could not close %r after its crash.", self.channel_name, exc_info=True
                )

    async def on_crash(self, failure: BaseException) -> None:
        """Tell the client the connection failed (WebSocket 1011, HTTP 500).

        Called once, after the failure was logged, under a shielded deadline.
        The base class does nothing; protocol consumers override it.
        """

    async def on_cancelled(self) -> None:
        """The connection's task was cancelled while the connection was still open.

        Called once, under a shielded deadline. The base class does nothing;
        a WebSocket consumer closes with 1001 (going away).
        """

    async def _release_groups(self) -> None:
        layer = self.channel_layer
        groups = self._joined_groups
        self._joined_groups = ()
        if layer is None or not groups:
            return
        for group in groups:
            await layer.group_discard(group, self.channel_name)

    # -- actor behaviour -------------------------------------------------------------

    async def handle_signal(self, signal: object) -> None:
        """React to a mailbox signal.

        Shutdown: handle what the mailbox already holds, then :meth:`on_shutdown`.
        Overflow: :meth:`on_overflow`. A ``"close"`` rate limit exceeded:
        :meth:`on_rate_limited`. The end of a presence batching window: the
        merged ``presence.diff`` messages.
        """
        if isinstance(signal, ShutdownRequested):
            if not self._shutting_down:
                self._shutting_down = True
                if self._drains_on_shutdown():
                    await self._drain_queued()
                await self.on_shutdown()
        elif isinstance(signal, Overflowed):
            await self.on_overflow()
        elif isinstance(signal, RateLimitExceeded):
            await self.on_rate_limited(signal.limit)
        elif isinstance(signal, PresenceFlush):
            await self.flush_presence()
        else:
            await super().handle_signal(signal)

    def _drains_on_shutdown(self) -> bool:
        """Whether to handle the queued messages before :meth:`on_shutdown` (yes by default)."""
        return True

    async def _drain_queued(self) -> None:
        """Handle the messages queued right now, in order (the server is shutting down).

        What arrives meanwhile waits behind them; each is handled as the actor
        loop would (signals included), so a handler still never races another.
        """
        mailbox = self.mailbox
        if mailbox is None:
            return
        for _ in range(len(mailbox)):
            try:
                item = mailbox.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream):
                return
            if type(item) is dict:
                await self.dispatch(item)
                self._handled += 1
            else:
                await self.handle_signal(item)

    def request_stop(self) -> None:
        """Ask the consumer to finish its connection (the server is shutting down).

        Queues a shutdown signal ahead of waiting messages; the consumer then
        handles the messages that were waiting and calls :meth:`on_shutdown`
        (a WebSocket closes with 1001; one still in its handshake is refused).
        """
        if self.mailbox is None:
            super().request_stop()
        else:
            self.mailbox.signal_nowait(ShutdownRequested())

    async def on_shutdown(self) -> None:
        """The server is shutting down: end this connection. The base class stops at once.

        Called after the messages queued when the shutdown began were handled.
        """
        raise StopConsumer

    async def on_rate_limited(self, limit: RateLimit) -> None:
        """The client went over a ``"close"`` rate limit; end the connection.

        The base class stops the consumer; the WebSocket consumers close with
        ``limit.close_code`` (1008 by default).
        """
        raise StopConsumer

    async def on_overflow(self) -> None:
        """The mailbox overflowed under the ``disconnect`` policy; end the connection.

        The base class stops the consumer; the WebSocket consumers close with 1013.
        """
        raise StopConsumer

    def spawn(self, function: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run ``function(*args)`` concurrently, owned by this consumer.

        For long work that must not block disconnect or group messages.
        The task is cancelled when the connection ends; if it raises, the
        connection fails exactly as if a handler had raised, and if it raises
        :class:`~callboard.exceptions.StopConsumer` the connection ends cleanly.

        Call it on the event loop (a ``SyncConsumer`` may call it from its
        handler thread too).

        Raises:
            RuntimeError: the consumer is not serving a connection.
        """
        if self._task_group is None:
            raise RuntimeError(f"{type(self).__qualname__}.spawn() needs a running connection.")
        self._task_group.start_soon(self._run_spawned, function, args)

    async def _run_spawned(self, function: Callable[..., Awaitable[Any]], args: Any) -> None:
        try:
            await function(*args)
        except StopConsumer:
            pass
        except Exception as exc:
            if self._failure is None:
                self._failure = exc
        else:
            return
        if self._serve_scope is not None:
            self._serve_scope.cancel()

    async def send(self, message: dict[str, Any]) -> None:
        """Send an ASGI event to the client (Channels' low-level ``send``).

        Once the client has gone (or a WebSocket consumer has closed the
        connection), the event is dropped instead of failing: a server
        refuses events after the close. It is counted (``sent_after_close``
        in :func:`~callboard.consumers.connection_statistics`).
        """
        if self._send_closed:
            if self._counters is not None:
                self._counters.sent_after_close += 1
            logger.debug("Dropped %r to %r: the connection is closed.", message.get("type"), self)
            return
        await self.base_send(message)

    # -- building the application ------------------------------------------------------

    @classmethod
    def as_asgi(cls, **initkwargs: Any) -> ASGIApp:
        """Return an ASGI application that serves each connection with a new instance.

        Keyword arguments become instance attributes (or ``__init__``
        arguments when the class defines its own ``__init__``), as Django's
        ``as_view``. They are checked here, when the routing module is
        imported, so a typo fails at start-up rather than at the first
        connection.

        Raises:
            TypeError: a keyword the class does not accept, naming the valid ones.
            ValueError: ``mailbox_capacity`` or ``overflow_policy`` (on the
                class or given here) is invalid.
        """
        check_initkwargs(cls, initkwargs)
        check_mailbox_options(cls, initkwargs)

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            await cls(**initkwargs)(scope, receive, send)

        app.consumer_class = cls  # type: ignore[attr-defined]  # Channels' attribute
        app.consumer_initkwargs = initkwargs  # type: ignore[attr-defined]  # Channels' attribute
        functools.update_wrapper(app, cls, updated=())
        return app


class SyncConsumer(AsyncConsumer):
    """Consumer whose handlers are plain functions run in worker threads.

    Each handler runs through the bounded offload (never on the event loop),
    one at a time. Inside a handler, ``self.send(...)`` and
    ``async_to_sync(self.channel_layer.group_send)(...)`` work as in Channels:
    they run on the connection's event loop and block the thread until done.
    """

    _sync = True

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Run the handler for ``message`` in a worker thread (callboard's own on the loop)."""
        if message.get("type") == PRESENCE_EVENT:  # batched on the loop, then dispatched here
            await self.callboard_presence(message)
            return
        try:
            handler = self.find_handler(message)
        except NoHandlerError as exc:  # say `def`, not `async def`
            raise NoHandlerError(
                exc.message_type, exc.handler_name, exc.actor_class, sync=True
            ) from None
        await run_in_pool(handler, self, message)

    def send(self, message: dict[str, Any]) -> None:  # type: ignore[override]  # Channels' sync API
        """Send an ASGI event to the client from a handler thread (blocks until sent)."""
        call_at_home(AsyncConsumer.send, self, message)

    def spawn(self, function: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run the async ``function(*args)`` on the event loop, owned by this consumer.

        As :meth:`AsyncConsumer.spawn`; callable from a handler thread.
        """
        if self._loop_thread is not None and threading.get_ident() != self._loop_thread:
            call_sync_at_home(AsyncConsumer.spawn, self, function, *args)
        else:
            AsyncConsumer.spawn(self, function, *args)


reserve_handler_names(ConsumerPresence, allow={"callboard_presence"})
reserve_handler_names(AsyncConsumer)
reserve_handler_names(SyncConsumer)
