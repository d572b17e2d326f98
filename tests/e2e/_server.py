"""``callboard.server.serve`` in the test's own event loop, stopped by the test within a bound.

The server and the test share one Trio run, so the test reads the same
``current_runtime()`` as the server's consumers.

Not here: servers in other processes (``_process``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import trio

from callboard._asgi import ASGIApp
from callboard.server import ServerConfig, serve

from ._clients import sole_error

__all__ = ["RunningServer", "open_server"]

STOP_TIMEOUT = 10.0
"""Seconds a server gets to stop when the block ends, beyond which the test fails."""


@attrs.define(eq=False)
class RunningServer:
    """A server started by :func:`open_server`."""

    urls: list[str]
    """What ``serve`` reported through ``nursery.start``: ``["http://127.0.0.1:PORT"]``."""
    _trigger: trio.Event = attrs.field(factory=trio.Event)
    _stopped: trio.Event = attrs.field(factory=trio.Event)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self.urls[0]

    @property
    def stopped(self) -> bool:
        """Whether ``serve`` has returned."""
        return self._stopped.is_set()

    def shutdown(self) -> None:
        """Fire the shutdown trigger; return at once."""
        self._trigger.set()

    async def wait_stopped(self) -> None:
        """Wait until ``serve`` has returned; bound it with ``trio.fail_after``."""
        await self._stopped.wait()


@asynccontextmanager
async def open_server(app: ASGIApp, **options: Any) -> AsyncIterator[RunningServer]:
    """Serve ``app`` on ``127.0.0.1:0`` for the block; ``options`` are ``ServerConfig``'s.

    Raises:
        trio.TooSlowError: the server did not stop within ``STOP_TIMEOUT`` after the block.

    Lifetime: leaving the block fires the trigger and waits for ``serve`` to return.
    """
    config = ServerConfig(**{"bind": ("127.0.0.1:0",), **options})
    server = RunningServer(urls=[])

    async def run(*, task_status: trio.TaskStatus[list[str]]) -> None:
        try:
            await serve(app, config, shutdown_trigger=server._trigger.wait, task_status=task_status)
        finally:
            server._stopped.set()

    with sole_error():
        async with trio.open_nursery() as nursery:
            server.urls = await nursery.start(run)
            try:
                yield server
            finally:
                server.shutdown()
                with trio.fail_after(STOP_TIMEOUT):
                    await server.wait_stopped()
