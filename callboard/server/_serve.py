"""Serving an ASGI application on hypercorn's Trio worker, with a draining shutdown.

:func:`serve` runs hypercorn programmatically so callboard owns shutdown:
when the shutdown trigger fires, hypercorn stops accepting and, at the same
moment, every live consumer is asked to finish — a WebSocket closes with
1001, its disconnect handlers run — within ``graceful_timeout``; what is
still running then is cancelled. (Plain hypercorn sends open WebSockets no
close frame on shutdown: clients see 1006 after its graceful timeout.)

Not here: the command line and worker processes (``_cli``).
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Awaitable, Callable

import anyio
import trio
from hypercorn.trio import serve as hypercorn_serve

from callboard._asgi import ASGIApp
from callboard.actors import current_runtime, open_supervisor, set_primary_home

from ._config import ServerConfig

__all__ = ["run", "serve", "wait_for_signal"]

logger = logging.getLogger("callboard.server")


async def wait_for_signal(*signals: int) -> None:
    """Return when the process receives one of ``signals`` (default SIGINT, SIGTERM)."""
    with trio.open_signal_receiver(*(signals or (signal.SIGINT, signal.SIGTERM))) as received:
        async for signum in received:
            logger.info("Received %s: shutting down.", signal.Signals(signum).name)
            return


async def serve(
    app: ASGIApp,
    config: ServerConfig | None = None,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` until ``shutdown_trigger`` returns, then drain and stop.

    Use it with ``nursery.start(serve, app, config)`` to learn the bound
    addresses (``["http://127.0.0.1:8000"]``) once the server listens.

    Args:
        app: the ASGI application (a ``ProtocolTypeRouter``, a consumer's
            ``as_asgi()``, a Django bridge application ...).
        config: how to serve; ``ServerConfig()`` by default.
        shutdown_trigger: an async callable whose return starts a graceful
            shutdown; by default, SIGINT or SIGTERM.
        task_status: for ``nursery.start``; receives the bound URLs.

    Lifetime: returns once every connection has ended and lifespan shutdown
    has run. The running loop becomes the process's primary home, so plain
    threads can reach the channel layer (``async_to_sync``).

    Cancellation: cancelling it stops the server at once, without draining.
    """
    config = config if config is not None else ServerConfig()
    trigger = shutdown_trigger if shutdown_trigger is not None else wait_for_signal
    set_primary_home()
    runtime = current_runtime()
    hypercorn_config = config.to_hypercorn()
    # Connections get the drain's grace, then a moment to finish closing handshakes.
    hypercorn_config.graceful_timeout = config.graceful_timeout + 1.0

    async with (
        open_supervisor(name="callboard.server") as supervisor,
        anyio.create_task_group() as task_group,
    ):

        async def shutdown_then_drain() -> None:
            await trigger()
            task_group.start_soon(runtime.shutdown, config.graceful_timeout)

        with runtime.using_supervisor(supervisor):
            await hypercorn_serve(
                app,  # type: ignore[arg-type]  # hypercorn's Framework union is narrower than ASGI's
                hypercorn_config,
                shutdown_trigger=shutdown_then_drain,
                task_status=task_status,
            )


def run(app: ASGIApp, config: ServerConfig | None = None) -> None:
    """Serve ``app`` in this process until SIGINT or SIGTERM (blocking).

    Raises:
        ValueError: ``config.workers`` is not 1 (use the command line for several).
    """
    config = config if config is not None else ServerConfig()
    if config.workers != 1:
        raise ValueError("run() serves one process; use `callboard serve --workers N` for several.")
    trio.run(serve, app, config)
