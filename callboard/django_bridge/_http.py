"""Django's views served under Trio: Django's synchronous handler, one request per worker thread.

:func:`get_asgi_application` is the Trio-safe counterpart of Django's. Django's
own ASGI handler cannot run under Trio (it calls ``asyncio.create_task``);
this one runs what a WSGI server runs — Django's synchronous handler with
its full middleware chain — in a worker thread from a bounded pool
(``CALLBOARD["HTTP_THREAD_LIMIT"]``), and speaks ASGI on the event loop:

- Sync views run in that thread; async views and async middleware run as
  Django runs them under WSGI (``async_to_sync``: a private asyncio loop in
  a helper thread), so their asyncio code works unchanged.
- The request body is streamed to the thread as Django reads it
  (see ``_body``), never spooled.
- A plain response goes back to the loop in one piece and is sent there.
  A streaming response (``StreamingHttpResponse`` with a sync iterator,
  ``FileResponse``) is iterated in the same thread, each chunk sent as it
  comes; one with an async iterator is iterated on the event loop (so it
  must be written for AnyIO or Trio, not asyncio).
- A client that disconnects is noticed while the view runs and while a
  response streams: nothing more is sent, the iterator is closed (a
  generator sees ``GeneratorExit``), and ``request_finished`` fires. A view
  already running in a thread cannot be interrupted; it finishes first.
- ``request.is_secure()`` follows ``SECURE_PROXY_SSL_HEADER`` and the scope's
  ``scheme``, as in Django.

Under asyncio (uvicorn, hypercorn's asyncio worker) the application defers
to Django's own ASGI handler.

Not here: static files (``_static``), the body file (``_body``).
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import logging
from collections.abc import Iterable
from contextlib import aclosing
from typing import Final

import anyio
import anyio.from_thread
import attrs
from anyio.lowlevel import RunVar
from anyio.streams.memory import MemoryObjectSendStream
from django.core import signals
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

from callboard._asgi import Message, Receive, Scope, Send
from callboard.actors import in_trio_task

from ._body import BODY_BUFFER_CHUNKS, open_body
from ._config import bridge_config
from ._connections import Hygiene
from ._trio_sync import run_in_thread

__all__ = [
    "CHUNK_SIZE",
    "DjangoApplication",
    "TrioHandler",
    "current_http_limiter",
    "get_asgi_application",
    "serve_request",
]

logger = logging.getLogger("callboard.django_bridge")

CHUNK_SIZE: Final = 2**16
"""Largest body message a streaming response sends, and ``FileResponse``'s block size."""

_limiter: RunVar[anyio.CapacityLimiter] = RunVar("callboard_http_limiter")


def current_http_limiter() -> anyio.CapacityLimiter:
    """Return the running loop's limiter for Django requests (``HTTP_THREAD_LIMIT``)."""
    size = bridge_config().http_thread_limit
    try:
        limiter = _limiter.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(size)
        _limiter.set(limiter)
    else:
        if limiter.total_tokens != size:
            limiter.total_tokens = size
    return limiter


class TrioHandler(ASGIHandler):  # type: ignore[misc]  # Django is untyped
    """Django's handler with the synchronous middleware chain, driven by :func:`serve_request`.

    Reuses ``ASGIHandler``'s request class (``ASGIRequest``: META from the
    scope), ``create_request`` (400 and 413 answers) and last-chance error
    handling; its own ``__call__`` (asyncio) is never used.
    """

    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)


class _ClientGone(Exception):
    """The client disconnected; stop sending."""


@attrs.define(eq=False)
class _Exchange:
    """One request's link between the worker thread and the loop: sending, and the disconnect."""

    _send: Send
    disconnected: bool = False
    _streaming: anyio.CancelScope | None = None

    def client_gone(self) -> None:
        self.disconnected = True
        if self._streaming is not None:
            self._streaming.cancel()

    async def send(self, message: Message) -> None:
        if self.disconnected:
            raise _ClientGone
        await self._send(message)

    def send_from_thread(self, message: Message) -> None:
        anyio.from_thread.run(self.send, message)

    async def stream_async(self, response: HttpResponseBase) -> None:
        """Send an async-iterator streaming response's body from the loop."""
        with anyio.CancelScope() as self._streaming:
            if self.disconnected:
                return
            async with aclosing(aiter(response.streaming_content)) as content:
                async for part in content:
                    for chunk in _chunks(part):
                        await self.send(_body(chunk, more=True))
            await self.send(_body(b"", more=False))


def _body(chunk: bytes, *, more: bool) -> Message:
    return {"type": "http.response.body", "body": chunk, "more_body": more}


def _chunks(part: bytes) -> Iterable[bytes]:
    if len(part) <= CHUNK_SIZE:
        yield part
        return
    view = memoryview(part)
    for start in range(0, len(part), CHUNK_SIZE):
        yield bytes(view[start : start + CHUNK_SIZE])


def _start_message(response: HttpResponseBase) -> Message:
    headers = [
        (
            header.encode("ascii") if isinstance(header, str) else bytes(header),
            value.encode("latin1") if isinstance(value, str) else bytes(value),
        )
        for header, value in response.items()
    ]
    headers.extend(
        (b"Set-Cookie", cookie.output(header="").encode("ascii").strip())
        for cookie in response.cookies.values()
    )
    return {"type": "http.response.start", "status": response.status_code, "headers": headers}


@attrs.frozen
class _Plain:
    start: Message
    body: bytes


@attrs.frozen
class _AsyncStream:
    start: Message
    response: HttpResponseBase


def _handle_in_thread(
    handler: TrioHandler, scope: Scope, body: io.BufferedIOBase, exchange: _Exchange
) -> _Plain | _AsyncStream | None:
    """Everything Django does for one request, in the worker thread."""
    set_script_prefix(get_script_prefix(scope))
    signals.request_started.send(sender=handler.__class__, scope=scope)
    request, response = handler.create_request(scope, body)
    if request is not None:
        response = handler.get_response(request)
    else:
        body.close()
    response._handler_class = handler.__class__
    if isinstance(response, FileResponse):
        response.block_size = CHUNK_SIZE
    start = _start_message(response)
    if not response.streaming:
        content = response.content
        response.close()
        return _Plain(start, content)
    if response.is_async:
        return _AsyncStream(start, response)
    try:
        exchange.send_from_thread(start)
        for part in response:
            for chunk in _chunks(part):
                exchange.send_from_thread(_body(chunk, more=True))
        exchange.send_from_thread(_body(b"", more=False))
    except _ClientGone:
        logger.debug("Client went away during %s %s.", scope.get("method"), scope.get("path"))
    finally:
        response.close()
    return None


async def _watch_disconnect(receive: Receive, exchange: _Exchange) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            exchange.client_gone()
            return


async def _pump_body(
    receive: Receive,
    chunks: MemoryObjectSendStream[bytes],
    exchange: _Exchange,
) -> None:
    """Feed body chunks to the worker thread, then watch for the disconnect."""
    with chunks:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                exchange.client_gone()
                return
            data = message.get("body", b"")
            if data:
                # Django stopped reading when the stream is closed: discard the rest.
                with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                    await chunks.send(data)
            if not message.get("more_body", False):
                break
    await _watch_disconnect(receive, exchange)


async def serve_request(handler: TrioHandler, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one HTTP request with ``handler`` in a worker thread (see the module docstring).

    Args:
        handler: the Django handler (middleware loaded).
        scope: the ``http`` scope.
        receive: the server's ``receive``.
        send: the server's ``send``.

    Cancellation: waits for the worker thread to finish its part; a streaming
    response stops at its next chunk.
    """
    first = await receive()
    if first["type"] == "http.disconnect":
        return
    exchange = _Exchange(send)
    outcome: _Plain | _AsyncStream | None = None
    async with anyio.create_task_group() as task_group:
        chunk_stream = None
        if first.get("more_body", False):
            sender, chunk_stream = anyio.create_memory_object_stream[bytes](BODY_BUFFER_CHUNKS)
            task_group.start_soon(_pump_body, receive, sender, exchange)
        else:
            task_group.start_soon(_watch_disconnect, receive, exchange)
        body = open_body(first.get("body", b""), chunk_stream)
        try:
            outcome = await run_in_thread(
                lambda: _handle_in_thread(handler, scope, body, exchange),
                context=contextvars.copy_context(),
                executor=None,
                limiter=current_http_limiter(),
                hygiene=Hygiene.FULL,
            )
            if isinstance(outcome, _Plain):
                await exchange.send(outcome.start)
                await exchange.send(_body(outcome.body, more=False))
            elif isinstance(outcome, _AsyncStream):
                await exchange.send(outcome.start)
                await exchange.stream_async(outcome.response)
        except _ClientGone:
            logger.debug("Client went away before the response to %s.", scope.get("path"))
        finally:
            if chunk_stream is not None:
                chunk_stream.close()
            task_group.cancel_scope.cancel()
    if isinstance(outcome, _AsyncStream):
        with anyio.CancelScope(shield=True):
            await run_in_thread(
                outcome.response.close,
                context=contextvars.copy_context(),
                executor=None,
                limiter=current_http_limiter(),
                hygiene=Hygiene.FULL,
            )


class DjangoApplication:
    """The ASGI application for Django's views under Trio (see the module docstring).

    Get it from :func:`get_asgi_application`. It serves ``http`` scopes,
    answers ``lifespan`` itself (shutdown closes the connections worker
    threads keep), and refuses other scope types as Django does.
    """

    def __init__(self) -> None:
        self._handler: TrioHandler | None = None
        self._asyncio_handler: ASGIHandler | None = None

    @property
    def handler(self) -> TrioHandler:
        """The Django handler, built (middleware loaded) on first use."""
        if self._handler is None:
            self._handler = TrioHandler()
        return self._handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ``http`` (or ``lifespan``) connection.

        Raises:
            ValueError: a scope type other than ``http`` or ``lifespan``.
        """
        scope_type = scope["type"]
        if scope_type == "lifespan":
            await _serve_lifespan(receive, send)
            return
        if scope_type != "http":
            raise ValueError(
                f"Django can only handle ASGI/HTTP connections, not {scope_type}. "
                "Route other scope types with ProtocolTypeRouter."
            )
        if not in_trio_task():
            if self._asyncio_handler is None:
                self._asyncio_handler = ASGIHandler()
            await self._asyncio_handler(scope, receive, send)
            return
        await serve_request(self.handler, scope, receive, send)


async def _serve_lifespan(receive: Receive, send: Send) -> None:
    from ._connections import close_pooled_connections

    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await anyio.to_thread.run_sync(close_pooled_connections)
            await send({"type": "lifespan.shutdown.complete"})
            return


def get_asgi_application() -> DjangoApplication:
    """Return the ASGI application for Django's views: Trio-safe ``get_asgi_application()``.

    Sets Django up (like Django's own) and returns a :class:`DjangoApplication`
    to mount as ``ProtocolTypeRouter({"http": ...})`` or serve alone.
    """
    import django

    django.setup(set_prefix=False)
    return DjangoApplication()
