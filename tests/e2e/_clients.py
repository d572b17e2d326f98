"""Real clients for end-to-end tests: trio-websocket connections and waiting helpers.

Not here: the application under test (``chat_app``), server processes (``_process``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any
from urllib.parse import urlsplit

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, wrap_client_stream

__all__ = ["close_code", "open_websocket", "sole_error", "wait_until", "ws_url"]

POLL_INTERVAL = 0.01
"""Seconds between checks of a condition another process or task makes true."""


def ws_url(bound: str) -> str:
    """The ``ws://`` form of one of the URLs ``serve`` reports (``http://127.0.0.1:1234``)."""
    return "ws" + bound.removeprefix("http")


@asynccontextmanager
async def open_websocket(
    bound: str, path: str, **options: Any
) -> AsyncIterator[WebSocketConnection]:
    """A trio-websocket client connected to ``path`` on the server at ``bound``.

    The TCP stream is this helper's, closed on exit: trio-websocket 0.12
    leaves its socket open when the server closes the connection first,
    which ``filterwarnings = error`` turns into a failure.

    Raises:
        trio_websocket.ConnectionRejected: the server refused the handshake.
    """
    address = urlsplit(bound)
    host, port = address.hostname, address.port
    assert host is not None, bound
    assert port is not None, bound
    with sole_error():
        async with (
            await trio.open_tcp_stream(host, port) as stream,
            trio.open_nursery() as nursery,
        ):
            ws = await wrap_client_stream(nursery, stream, host, path, **options)
            try:
                yield ws
            finally:
                await ws.aclose()


@contextmanager
def sole_error() -> Iterator[None]:
    """Raise an exception group's only ``Exception`` bare (nurseries wrap every error).

    A test then sees ``ConnectionRejected`` or its own ``AssertionError``
    itself, as ``pytest.raises`` and the report expect.
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


async def close_code(ws: WebSocketConnection) -> int | None:
    """Read until the server closes the connection; return its close code.

    Raises:
        AssertionError: a message arrived instead.
    """
    try:
        message = await ws.get_message()
    except ConnectionClosed as closed:
        return closed.reason.code if closed.reason is not None else None
    raise AssertionError(f"Expected the server to close the connection; got {message!r}.")


async def wait_until(condition: Callable[[], bool]) -> None:
    """Return once ``condition()`` is true; bound it with ``trio.fail_after``.

    For what a server finishes after its client has gone (a disconnect
    handler, a process writing a file): no event reaches the test, so it polls.
    """
    while not condition():  # noqa: ASYNC110  # nothing to wait on but the condition
        await trio.sleep(POLL_INTERVAL)
