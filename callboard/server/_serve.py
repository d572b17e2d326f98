"""Serving an ASGI application on hypercorn's Trio worker, with a draining shutdown.

:func:`serve` runs hypercorn programmatically so callboard owns shutdown:
when the shutdown trigger fires, hypercorn stops accepting and, at the same
moment, every live consumer is asked to finish — a WebSocket closes with
1001, its disconnect handlers run — within ``graceful_timeout``; what is
still running then is cancelled, and connections get ``close_timeout``
more to finish their closing handshakes. Once every connection has ended,
one INFO record (``_ledger``) says what was delivered and what was not.
(Plain hypercorn sends open WebSockets no close frame on shutdown: clients
see 1006 after its graceful timeout.)

Not here: the command line and worker processes (``_cli``).
"""

from __future__ import annotations

import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve

from callboard._asgi import ASGIApp
from callboard.actors import (
    Runtime,
    Supervisor,
    SupervisorConfig,
    current_runtime,
    open_supervisor,
    primary_home,
    tune_gc,
)

from ._config import ServerConfig
from ._ledger import ShutdownRecorder
from ._protocol_errors import install as answer_protocol_errors

__all__ = ["run", "serve", "wait_for_signal"]

logger = logging.getLogger("callboard.server")

SHUTDOWN_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""The signals that start a graceful shutdown when no trigger is given."""

_ROOTS = "callboard.server.roots"
"""``Runtime.extras`` key: the root supervisors of the servers running on this loop."""


async def wait_for_signal(*signals: int) -> None:
    """Return when the process receives one of ``signals`` (default SIGINT, SIGTERM).

    Raises:
        RuntimeError: not called from the main thread (Trio's rule for signals).
    """
    with trio.open_signal_receiver(*(signals or SHUTDOWN_SIGNALS)) as received:
        await _first_signal(received)


async def _first_signal(received: AsyncIterator[int]) -> None:
    async for signum in received:
        logger.info("Received %s: shutting down.", signal.Signals(signum).name)
        return


async def _watch_signals(received: AsyncIterator[int], first: trio.Event) -> None:
    """Set ``first`` at the first signal; log and ignore the ones after it.

    While this runs the handlers stay installed, so a second signal (a
    process manager signalling every process of the group, a parent
    forwarding one the worker already got) does not kill the draining
    process with the default action.
    """
    await _first_signal(received)
    first.set()
    async for signum in received:
        logger.info("Received %s again: already shutting down.", signal.Signals(signum).name)


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
            shutdown; by default, SIGINT or SIGTERM (further signals during
            the drain are ignored).
        task_status: for ``nursery.start``; receives the bound URLs.

    Raises:
        ValueError: ``config.workers`` is not 1 (use the command line for several).
        OSError: an address could not be bound.

    Lifetime: lifespan startup runs before the server listens. On shutdown
    the server stops accepting, every consumer is asked to finish (a
    WebSocket closes with 1001 and its ``disconnect`` runs) and, after
    ``config.graceful_timeout``, what still runs is cancelled; connections
    get ``config.close_timeout`` more, then lifespan shutdown runs and this
    returns. While it serves, the running loop is the process's primary
    home, so plain threads can reach the channel layer (``async_to_sync``);
    the previous one is back afterwards.

    Cancellation: cancelling it stops the server at once, without draining.
    """
    config = config if config is not None else ServerConfig()
    if config.workers != 1:
        raise ValueError(
            f"serve() runs one worker, but workers={config.workers}; "
            "use `callboard serve --workers N` for several processes."
        )
    hypercorn_config = config.to_hypercorn()
    answer_protocol_errors()  # invalid UTF-8 gets close 1007, not a dropped connection
    hypercorn_config.graceful_timeout = config.graceful_timeout + config.close_timeout
    tune_gc(config.gc_threshold)
    runtime = current_runtime()
    supervisor_config = SupervisorConfig(shutdown_timeout=config.graceful_timeout)

    with primary_home():
        if shutdown_trigger is not None:
            await _serve(
                app, hypercorn_config, runtime, supervisor_config, shutdown_trigger, task_status
            )
            return
        with trio.open_signal_receiver(*SHUTDOWN_SIGNALS) as received:
            async with trio.open_nursery() as nursery:
                signalled = trio.Event()
                nursery.start_soon(_watch_signals, received, signalled)
                await _serve(
                    app, hypercorn_config, runtime, supervisor_config, signalled.wait, task_status
                )
                nursery.cancel_scope.cancel()


async def _serve(
    app: ASGIApp,
    hypercorn_config: HypercornConfig,
    runtime: Runtime,
    supervisor_config: SupervisorConfig,
    trigger: Callable[[], Awaitable[None]],
    task_status: trio.TaskStatus[list[str]],
) -> None:
    ledger = ShutdownRecorder(runtime, supervisor_config.shutdown_timeout)
    async with open_supervisor(name="callboard.server", config=supervisor_config) as supervisor:

        async def stop_accepting_then_drain() -> None:
            await trigger()
            # hypercorn stops accepting when this returns; the consumers are
            # asked to close in the same scheduling round.
            ledger.begin(supervisor)
            supervisor.request_stop()

        with _root_supervisor(runtime, supervisor), _sole_error():
            await hypercorn_serve(
                app,  # type: ignore[arg-type]  # hypercorn's Framework union is narrower than ASGI's
                hypercorn_config,
                shutdown_trigger=stop_accepting_then_drain,
                task_status=task_status,
            )
    ledger.finish()  # every connection has ended: log what was delivered and what was not


@contextmanager
def _sole_error() -> Iterator[None]:
    """Raise the one ``Exception`` hypercorn's nested nurseries wrapped in groups, bare.

    A bind failure then surfaces as the ``OSError`` it is.
    """
    try:
        yield
    except BaseExceptionGroup as group:
        error: BaseException = group
        while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
            error = error.exceptions[0]
        if isinstance(error, BaseExceptionGroup) or not isinstance(error, Exception):
            raise
        raise error from None


@contextmanager
def _root_supervisor(runtime: Runtime, supervisor: Supervisor) -> Iterator[None]:
    """Make ``supervisor`` the runtime's root supervisor while this server runs.

    Servers on one loop (two live servers in one test) may stop in any
    order: the root is always the newest server still running, never a
    stopped one.
    """
    roots: list[Supervisor] = runtime.extras.setdefault(_ROOTS, [])
    roots.append(supervisor)
    runtime.supervisor = supervisor
    try:
        yield
    finally:
        roots.remove(supervisor)
        runtime.supervisor = roots[-1] if roots else None


def run(app: ASGIApp, config: ServerConfig | None = None) -> None:
    """Serve ``app`` in this process until SIGINT or SIGTERM (blocking).

    The process's own entry point (``callboard serve`` calls it): it takes
    over SIGINT and SIGTERM for the rest of the process's life. The first
    starts the graceful shutdown; later ones — a process manager signalling
    every process of the group, a parent forwarding one the worker already
    got, a second Ctrl-C — are logged and ignored, during the drain and
    after it, so a worker never dies mid-exit.

    Raises:
        ValueError: ``config.workers`` is not 1 (use the command line for several).
        OSError: an address could not be bound.
    """
    config = config if config is not None else ServerConfig()
    if config.workers != 1:
        raise ValueError("run() serves one process; use `callboard serve --workers N` for several.")
    try:
        tune_gc(config.gc_threshold, freeze=True)  # this process only serves
        trio.run(_serve_until_signalled, app, config)
    finally:
        ignore_signals()


async def _serve_until_signalled(app: ASGIApp, config: ServerConfig) -> None:
    signalled = trio.Event()

    def on_signal(signum: int) -> None:
        name = signal.Signals(signum).name
        if signalled.is_set():
            logger.info("Received %s again: already shutting down.", name)
        else:
            logger.info("Received %s: shutting down.", name)
            signalled.set()

    take_over_signals(on_signal)
    await serve(app, config, shutdown_trigger=signalled.wait)


def take_over_signals(on_signal: Callable[[int], None]) -> None:
    """Route SIGINT and SIGTERM to ``on_signal(signum)``, run on the current Trio loop.

    For a process's entry point; call it from the main thread. The handlers
    stay installed after the loop has ended, ignoring signals; call
    :func:`ignore_signals` once it has, so none kills the process mid-exit
    with the default action.
    """
    token = trio.lowlevel.current_trio_token()

    def handler(signum: int, frame: FrameType | None) -> None:
        with suppress(trio.RunFinishedError):  # the loop has ended: ignore it
            token.run_sync_soon(on_signal, signum)

    for signum in SHUTDOWN_SIGNALS:
        signal.signal(signum, handler)


def ignore_signals() -> None:
    """Ignore SIGINT and SIGTERM from now on: the process is exiting.

    Python resets its own handlers to the default action while it
    finalizes, so a late signal would still kill the process there.
    """
    for signum in SHUTDOWN_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
