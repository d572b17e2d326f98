"""The live server in a thread: callboard's server on a Trio loop of its own, for synchronous tests.

A Django ``TestCase``, a browser driven through Playwright's or Selenium's
synchronous API, ``httpx.Client``: synchronous code that needs a real server
to talk to. :class:`LiveServerThread` runs :func:`open_live_server` — the
same server, the same draining shutdown — on a Trio loop in a background
thread (an AnyIO blocking portal), and gives the calling thread its address
and a blocking :meth:`~LiveServerThread.stop`.

Because the server runs in the test's process, it shares the process's
settings, its database configuration and its in-memory channel layer; code
in the test's thread that calls ``async_to_sync(layer.group_send)`` reaches
the server's consumers.

Not here: the live server itself (``_live_server``); the Django test case
built on this (``_testcase``).
"""

from __future__ import annotations

import concurrent.futures
import math
from contextlib import ExitStack
from types import TracebackType

import anyio
import attrs
import trio
from anyio.abc import TaskStatus
from anyio.from_thread import BlockingPortal, start_blocking_portal

from callboard._asgi import ASGIApp

from ._live_server import DEFAULT_GRACEFUL_TIMEOUT, LiveServer, open_live_server

__all__ = ["DEFAULT_START_TIMEOUT", "DEFAULT_STOP_TIMEOUT", "LiveServerThread"]

DEFAULT_START_TIMEOUT = 10.0
"""Seconds the server gets to listen (its lifespan startup included)."""
DEFAULT_STOP_TIMEOUT = 10.0
"""Seconds its graceful shutdown gets before what is left is cancelled."""


@attrs.define(eq=False)
class _Running:
    """What a started server thread holds until it is stopped."""

    exits: ExitStack
    portal: BlockingPortal
    served: concurrent.futures.Future[None]
    server: LiveServer
    stopping: anyio.Event


@attrs.define(eq=False)
class LiveServerThread:
    """callboard's live server on its own Trio loop in a background thread.

    ``with LiveServerThread(app) as server:`` — or :meth:`start` and
    :meth:`stop` — serves *app* on a free loopback port with
    :func:`callboard.server.serve`, hypercorn's Trio worker, for clients
    in the calling thread.

    Args:
        app: the ASGI application to serve (lifespan events included).
        host: the address to bind and to put in :attr:`url`; ``"localhost"``
            binds its IPv4 address.
        port: the port to bind; 0 picks a free one. Once started, the port
            it listens on.
        websocket_max_message_size: as for :func:`~callboard.testing.start_live_server`.
        graceful_timeout: seconds open connections get to finish when it
            stops (WebSocket consumers are first closed with 1001).
        start_timeout: seconds it gets to listen, lifespan startup included.
        stop_timeout: seconds its graceful shutdown gets; then what is left
            is cancelled.

    Lifetime:
        :meth:`start` starts the thread; :meth:`stop` (or leaving the
        ``with`` block) stops the server and joins the thread. The thread is
        a daemon, so a test run that never stops it still exits.
    """

    app: ASGIApp
    host: str = attrs.field(default="127.0.0.1", kw_only=True)
    port: int = attrs.field(default=0, kw_only=True)
    websocket_max_message_size: int | None = attrs.field(default=None, kw_only=True)
    graceful_timeout: float = attrs.field(default=DEFAULT_GRACEFUL_TIMEOUT, kw_only=True)
    start_timeout: float = attrs.field(default=DEFAULT_START_TIMEOUT, kw_only=True)
    stop_timeout: float = attrs.field(default=DEFAULT_STOP_TIMEOUT, kw_only=True)
    _running: _Running | None = attrs.field(default=None, init=False)

    @property
    def url(self) -> str:
        """``http://HOST:PORT``, for HTTP clients.

        Raises:
            RuntimeError: it has not been started.
        """
        return self._live().url

    @property
    def ws_url(self) -> str:
        """``ws://HOST:PORT``, for WebSocket clients; append the path.

        Raises:
            RuntimeError: it has not been started.
        """
        return self._live().ws_url

    @property
    def running(self) -> bool:
        """Whether it has been started and not stopped."""
        return self._running is not None

    def _live(self) -> LiveServer:
        if self._running is None:
            raise RuntimeError("The live server thread is not running: call start() first.")
        return self._running.server

    def start(self) -> None:
        """Start the thread and return once the server listens.

        Raises:
            RuntimeError: it is already running.
            OSError: the address could not be bound.
            TimeoutError: it did not listen within ``start_timeout`` (the
                thread has ended again).
        """
        if self._running is not None:
            raise RuntimeError("The live server thread is already running.")
        exits = ExitStack()
        try:
            portal = exits.enter_context(start_blocking_portal(backend="trio"))
            served, (server, stopping) = portal.start_task(self._serve, name="live server")
        except BaseException:
            exits.close()
            raise
        self.port = server.port
        self._running = _Running(
            exits=exits, portal=portal, served=served, server=server, stopping=stopping
        )

    def stop(self) -> None:
        """Stop the server gracefully and wait until its thread has ended. Idempotent.

        Open WebSockets are closed with 1001 and get ``graceful_timeout``;
        with none open it stops at once.

        Raises:
            TimeoutError: the shutdown took longer than ``stop_timeout``; the
                server was then cancelled and its thread has ended.
            ExceptionGroup: what the server raised while it ran (hypercorn's
                ``LifespanFailureError`` for a lifespan startup that failed).
        """
        running, self._running = self._running, None
        if running is None:
            return
        with running.exits:
            running.portal.call(running.stopping.set)
            try:
                running.served.result(timeout=self.stop_timeout)
            except concurrent.futures.TimeoutError:
                running.served.cancel()
                raise TimeoutError(
                    f"The live server did not stop within {self.stop_timeout} s "
                    f"(stop_timeout); it was cancelled."
                ) from None

    def __enter__(self) -> LiveServerThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def _serve(self, *, task_status: TaskStatus[tuple[LiveServer, anyio.Event]]) -> None:
        """The server's task on the portal's loop: serve until ``stopping`` is set."""
        stopping = anyio.Event()
        with trio.CancelScope(deadline=trio.current_time() + self.start_timeout) as starting:
            async with open_live_server(
                self.app,
                host=self.host,
                port=self.port,
                websocket_max_message_size=self.websocket_max_message_size,
                graceful_timeout=self.graceful_timeout,
            ) as server:
                starting.deadline = math.inf
                task_status.started((server, stopping))
                await stopping.wait()
        if starting.cancelled_caught:
            raise TimeoutError(
                f"The live server did not listen within {self.start_timeout} s "
                f"(start_timeout); is the application's lifespan startup stuck?"
            )
