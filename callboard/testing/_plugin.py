"""The pytest plugin: callboard's fixtures, registered under the ``pytest11`` entry point.

Installing callboard makes these fixtures available to every test suite;
they are Trio fixtures (pytest-trio), for Trio tests:

- ``callboard_runtime``: the test's own actor runtime (each test's event
  loop gets a fresh one).
- ``live_server``: a factory, ``server = await live_server(app)``, that
  serves *app* with hypercorn on a free loopback port until the test ends.

Not here: the server itself (``_live_server``); communicators need no fixture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

import pytest
import trio

# Loaded by every pytest session in an environment with callboard installed:
# what the fixtures use is imported when a test asks for them.
if TYPE_CHECKING:
    from callboard._asgi import ASGIApp
    from callboard.actors import Runtime

    from ._live_server import LiveServer

__all__ = ["LiveServerFactory", "callboard_runtime", "live_server"]


class LiveServerFactory(Protocol):
    """What the ``live_server`` fixture gives a test: ``await live_server(app, **options)``.

    The options are :func:`~callboard.testing.start_live_server`'s keywords.
    """

    async def __call__(self, app: ASGIApp, /, **options: Any) -> LiveServer: ...


@pytest.fixture
async def callboard_runtime() -> Runtime:
    """The running test's actor runtime: its registry and live actors."""
    from callboard.actors import current_runtime

    return current_runtime()


@pytest.fixture
async def live_server() -> AsyncIterator[LiveServerFactory]:
    """A factory that serves an application on a free loopback port for this test.

    ``server = await live_server(app)`` returns a
    :class:`~callboard.testing.LiveServer` (``.url``, ``.ws_url``, ``.port``);
    every server started is stopped when the test ends.
    """
    from ._live_server import start_live_server

    servers: list[LiveServer] = []
    async with trio.open_nursery() as nursery:

        async def start(app: ASGIApp, /, **options: Any) -> LiveServer:
            server = await start_live_server(nursery, app, **options)
            servers.append(server)
            return server

        try:
            yield start
        finally:
            for server in servers:
                server.shutdown()
