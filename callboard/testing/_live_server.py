"""The live server: callboard's own server on a free loopback port, for real clients.

For end-to-end tests with real clients (trio-websocket, httpx, a browser).
It is :func:`callboard.server.serve` — hypercorn's Trio worker with
callboard's draining shutdown — so a test sees what production does. Trio
only, as hypercorn's Trio worker is: call it from a Trio test.

Shutdown is prompt: with no connection open the server stops at once.
Consumers are asked to finish (a WebSocket consumer closes with 1001 and
its ``disconnect`` runs) and get ``graceful_timeout`` seconds, then are
cancelled; connections then get as long again, at most
``ServerConfig.close_timeout``, to finish closing.

Not here: the pytest fixture that wraps it (``_plugin``); serving itself
(``callboard.server``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import anyio
import attrs
import sniffio
import trio

from callboard._asgi import ASGIApp

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from callboard.server import ServerConfig

__all__ = ["DEFAULT_GRACEFUL_TIMEOUT", "LiveServer", "open_live_server", "start_live_server"]

DEFAULT_GRACEFUL_TIMEOUT = 1.0
"""Seconds open connections get to finish once the live server is asked to stop."""

_DEFAULT_CLOSE_TIMEOUT = 1.0
"""``ServerConfig.close_timeout``'s default, the cap on the live server's."""


@attrs.define(eq=False)
class LiveServer:
    """A running live server: where to reach it, and how to stop it.

    Handed out by :func:`open_live_server` / :func:`start_live_server`.
    """

    host: str
    """The address it listens on (``"127.0.0.1"``)."""
    port: int
    """The port it bound (a free one, unless one was asked for)."""
    _stopping: anyio.Event = attrs.field(alias="_stopping")
    _stopped: anyio.Event = attrs.field(alias="_stopped")

    @property
    def url(self) -> str:
        """``http://HOST:PORT``, for HTTP clients."""
        return f"http://{self._netloc}"

    @property
    def ws_url(self) -> str:
        """``ws://HOST:PORT``, for WebSocket clients; append the path."""
        return f"ws://{self._netloc}"

    @property
    def _netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def shutdown(self) -> None:
        """Ask the server to stop; return at once. Idempotent."""
        self._stopping.set()

    async def aclose(self) -> None:
        """Stop the server and wait until it has.

        That takes at most twice ``graceful_timeout`` (capped at
        ``graceful_timeout`` + 1 s) more than its lifespan shutdown.
        """
        self.shutdown()
        await self._stopped.wait()


async def start_live_server(
    nursery: trio.Nursery | TaskGroup,
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    websocket_max_message_size: int | None = None,
    graceful_timeout: float = DEFAULT_GRACEFUL_TIMEOUT,
) -> LiveServer:
    """Start :func:`callboard.server.serve` serving *app* in *nursery*; return once it listens.

    Args:
        nursery: owns the server task.
        app: the ASGI application to serve (lifespan events included).
        host: the address to bind; loopback by default.
        port: the port to bind; 0 picks a free one.
        websocket_max_message_size: the largest WebSocket message the server
            accepts, in bytes (larger ones close the connection with 1009);
            ``None`` keeps ``callboard serve``'s default (1 MiB).
        graceful_timeout: seconds open connections get to finish at shutdown
            (WebSocket consumers are first closed with 1001).

    Returns:
        The running server; ``server.url`` / ``server.ws_url`` reach it.

    Raises:
        RuntimeError: not running under Trio.
        OSError: the address could not be bound.

    Lifetime:
        The caller owns it: ``await server.aclose()``, or cancel the nursery.
    """
    _require_trio()
    from callboard.server import DEFAULT_MAX_MESSAGE_SIZE, ServerConfig

    config = ServerConfig(
        bind=f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        websocket_max_message_size=(
            DEFAULT_MAX_MESSAGE_SIZE
            if websocket_max_message_size is None
            else websocket_max_message_size
        ),
        graceful_timeout=graceful_timeout,
        # A test that asks for a short grace wants a short shutdown.
        close_timeout=min(graceful_timeout, _DEFAULT_CLOSE_TIMEOUT),
    )
    stopping = anyio.Event()
    stopped = anyio.Event()
    binds: list[str] = await nursery.start(partial(_serve, app, config, stopping, stopped))
    bound = urlsplit(binds[0])
    assert bound.port is not None, binds
    return LiveServer(host=host, port=bound.port, _stopping=stopping, _stopped=stopped)


def _require_trio() -> None:
    library = sniffio.current_async_library()
    if library != "trio":
        raise RuntimeError(
            f"The live server runs hypercorn's Trio worker; this test runs on {library!r}. "
            "Run it under Trio (pytest-trio) instead."
        )


async def _serve(
    app: ASGIApp,
    config: ServerConfig,
    stopping: anyio.Event,
    stopped: anyio.Event,
    *,
    task_status: trio.TaskStatus[list[str]],
) -> None:
    from callboard.server import serve

    try:
        await serve(app, config, shutdown_trigger=stopping.wait, task_status=task_status)
    finally:
        stopped.set()


@asynccontextmanager
async def open_live_server(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    websocket_max_message_size: int | None = None,
    graceful_timeout: float = DEFAULT_GRACEFUL_TIMEOUT,
) -> AsyncIterator[LiveServer]:
    """Serve *app* with :func:`callboard.server.serve` for the duration of the block.

    ``async with open_live_server(app) as server:`` — arguments as for
    :func:`start_live_server`.

    Raises:
        RuntimeError: not running under Trio.
        OSError: the address could not be bound.

    Lifetime:
        Leaving the block stops the server and waits for it. An error in the
        block, or in starting the server, propagates as itself, not inside an
        exception group.
    """
    _require_trio()
    failure: Exception | None = None
    async with trio.open_nursery() as nursery:
        try:
            server = await start_live_server(
                nursery,
                app,
                host=host,
                port=port,
                websocket_max_message_size=websocket_max_message_size,
                graceful_timeout=graceful_timeout,
            )
        except Exception as exc:  # nothing runs yet: raise it bare, after the nursery
            failure = exc
        else:
            try:
                yield server
            except Exception as exc:
                failure = exc
            finally:
                server.shutdown()
    if failure is not None:
        raise failure
