"""Hand-written ASGI doubles for the routing tests: a server side and endpoints.

Not callboard.testing on purpose: routers are tested against the bare ASGI
protocol, with nothing between them and the events.
"""

from __future__ import annotations

import anyio

from callboard._asgi import ASGIApp, Message, Receive, Scope, Send


async def call(app: ASGIApp, scope: Scope, *events: Message) -> list[Message]:
    """Run ``app`` for one scope as a server would, and return what it sent.

    ``events`` are queued for ``receive`` before the app starts; asking for
    more than that raises ``anyio.EndOfStream`` rather than hanging.
    """
    to_app, app_inbox = anyio.create_memory_object_stream[Message](len(events))
    app_outbox, from_app = anyio.create_memory_object_stream[Message](16)
    async with to_app, app_inbox, app_outbox, from_app:
        for event in events:
            to_app.send_nowait(event)
        to_app.close()
        await app(scope, app_inbox.receive, app_outbox.send)
        sent: list[Message] = []
        while True:
            try:
                sent.append(from_app.receive_nowait())
            except anyio.WouldBlock:
                return sent


class Endpoint:
    """An ASGI application that records the scopes it is called with."""

    def __init__(self, name: str = "endpoint") -> None:
        self.name = name
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)

    @property
    def scope(self) -> Scope:
        """The one scope this endpoint was called with."""
        assert len(self.scopes) == 1, f"{self.name} was called {len(self.scopes)} times"
        return self.scopes[0]

    def __repr__(self) -> str:
        return f"<Endpoint {self.name}>"


class ChatConsumer:
    """Looks like a consumer class to a router: a class with ``as_asgi()``."""

    @classmethod
    def as_asgi(cls) -> ASGIApp:
        return Endpoint(cls.__name__)


class PathRoutingMiddleware:
    """Middleware around a router that keeps Channels' ``_path_routing`` marker.

    A router sees it as an opaque application that routes by path itself.
    """

    _path_routing = True

    def __init__(self, inner: ASGIApp, **extra_scope: object) -> None:
        self.inner = inner
        self.extra_scope = extra_scope

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.inner({**scope, **self.extra_scope}, receive, send)
