"""Small raw ASGI applications the testing-helper tests talk to."""

from __future__ import annotations

from typing import Any

from callboard._asgi import Receive, Scope, Send


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """WebSocket: accept (choosing the first subprotocol offered), echo every frame.

    A text frame ``"close"`` makes it close the connection with 4000. HTTP:
    answers ``hello`` with the method, path and query echoed in headers.
    Lifespan: completes startup and shutdown.
    """
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
    elif scope["type"] == "http":
        await _hello(scope, receive, send)
    else:
        await _echo_websocket(scope, receive, send)


async def _echo_websocket(scope: Scope, receive: Receive, send: Send) -> None:
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            offered = scope["subprotocols"]
            await send({"type": "websocket.accept", "subprotocol": offered[0] if offered else None})
        elif event["type"] == "websocket.receive":
            if event.get("text") == "close":
                await send({"type": "websocket.close", "code": 4000})
            elif event.get("text") is not None:
                await send({"type": "websocket.send", "text": event["text"]})
            else:
                await send({"type": "websocket.send", "bytes": event["bytes"]})
        elif event["type"] == "websocket.disconnect":
            return


async def _hello(scope: Scope, receive: Receive, send: Send) -> None:
    body = b""
    while True:
        event = await receive()
        body += event.get("body", b"")
        if not event.get("more_body", False):
            break
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"x-method", scope["method"].encode()),
                (b"x-path", scope["path"].encode()),
                (b"x-query", scope["query_string"]),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"hello ", "more_body": True})
    await send({"type": "http.response.body", "body": body or b"world"})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        event = await receive()
        if event["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif event["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def reject(scope: Scope, receive: Receive, send: Send) -> None:
    """WebSocket: close with 4403 before accepting, then wait for the disconnect."""
    event = await receive()
    assert event["type"] == "websocket.connect"
    await send({"type": "websocket.close", "code": 4403})
    while (await receive())["type"] != "websocket.disconnect":
        pass


class Boom(Exception):
    """What the crashing applications raise."""


async def crash_on_boom(scope: Scope, receive: Receive, send: Send) -> None:
    """WebSocket echo that raises :class:`Boom` when it receives the text ``"boom"``."""
    await send_accept_after_connect(receive, send)
    while True:
        event = await receive()
        if event["type"] == "websocket.disconnect":
            return
        if event.get("text") == "boom":
            raise Boom("the application blew up")
        await send({"type": "websocket.send", "text": event.get("text")})


async def report_on_boom(scope: Scope, receive: Receive, send: Send) -> None:
    """A callboard-consumer-like application: on ``"boom"`` it reports, closes 1011, goes on."""
    await send_accept_after_connect(receive, send)
    while True:
        event = await receive()
        if event["type"] == "websocket.disconnect":
            return
        try:
            if event.get("text") == "boom":
                raise Boom("the handler blew up")
        except Boom as exc:
            scope["extensions"]["callboard.test"]["report_exception"](exc)
            await send({"type": "websocket.close", "code": 1011})


async def send_accept_after_connect(receive: Receive, send: Send) -> None:
    event = await receive()
    assert event["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})


async def silent(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads every event and never answers, until disconnected."""
    while (await receive())["type"] not in ("websocket.disconnect", "http.disconnect"):
        pass


class Recorder:
    """An application that records its scope and events and whether it was cancelled."""

    def __init__(self) -> None:
        self.scope: Scope | None = None
        self.events: list[dict[str, Any]] = []
        self.cancelled = False
        self.finished = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        try:
            while True:
                event = await receive()
                self.events.append(dict(event))
                if event["type"] == "websocket.connect":
                    await send({"type": "websocket.accept"})
                if event["type"] in ("websocket.disconnect", "http.disconnect"):
                    return
        except BaseException as exc:
            self.cancelled = not isinstance(exc, Exception)
            raise
        finally:
            self.finished = True
