"""ProtocolTypeRouter: the top of an ASGI application, one entry per scope type.

Not here: routing by path (``_url``), by channel name (``_channel_name``),
the lifespan answer itself (``_lifespan``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from callboard._asgi import ASGIApp, Receive, Scope, Send

from ._errors import NoRouteError, RoutingConfigError
from ._lifespan import LifespanHook, run_lifespan
from ._target import require_application

__all__ = ["ProtocolTypeRouter"]


class ProtocolTypeRouter:
    """Dispatch each connection to the application configured for its scope type.

    Channels' router of the same name, with one addition: when the mapping
    has no ``"lifespan"`` entry, the router answers the lifespan protocol
    itself (Channels raises ``ValueError`` there, which servers log at every
    start), running ``on_startup`` and ``on_shutdown`` hooks.

    Attributes:
        application_mapping: scope type to application, as given.
        on_startup: hooks awaited in order at server startup. A server or
            runtime may append to it before serving; it runs only while
            :attr:`handles_lifespan` is true.
        on_shutdown: hooks awaited in order at server shutdown, all of them
            even after one failed; same conditions.

    Args:
        application_mapping: scope type (``"http"``, ``"websocket"``,
            ``"channel"``, ...) to the ASGI application that serves it.
        on_startup: async callables without arguments, run on
            ``lifespan.startup``. The first that raises ends startup with
            ``lifespan.startup.failed``; the rest do not run.
        on_shutdown: async callables without arguments, run on
            ``lifespan.shutdown``.

    Raises:
        RoutingConfigError: an application is a consumer class (route
            ``Consumer.as_asgi()``) or not callable, or hooks are given
            although the mapping has its own ``"lifespan"`` application.
    """

    def __init__(
        self,
        application_mapping: Mapping[str, ASGIApp],
        *,
        on_startup: Iterable[LifespanHook] = (),
        on_shutdown: Iterable[LifespanHook] = (),
    ) -> None:
        for scope_type, application in application_mapping.items():
            require_application(application, f"ProtocolTypeRouter entry {scope_type!r}")
        self.application_mapping = application_mapping
        self.on_startup = list(on_startup)
        self.on_shutdown = list(on_shutdown)
        if not self.handles_lifespan and (self.on_startup or self.on_shutdown):
            raise RoutingConfigError(
                "ProtocolTypeRouter",
                "on_startup/on_shutdown hooks are given, but the mapping has its own "
                "'lifespan' application, so they would never run. Remove the 'lifespan' "
                "entry, or run the hooks from that application.",
            )

    @property
    def handles_lifespan(self) -> bool:
        """Whether this router answers lifespan scopes itself (no ``"lifespan"`` entry)."""
        return "lifespan" not in self.application_mapping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one connection with the application for ``scope["type"]``.

        Args:
            scope: the connection scope.
            receive: the server's ``receive``.
            send: the server's ``send``.

        Raises:
            NoRouteError: no application is configured for the scope type
                (a ``ValueError``, as in Channels).
        """
        scope_type = scope["type"]
        application = self.application_mapping.get(scope_type)
        if application is not None:
            await application(scope, receive, send)
        elif scope_type == "lifespan":
            await run_lifespan(
                receive, send, on_startup=self.on_startup, on_shutdown=self.on_shutdown
            )
        else:
            known = [*self.application_mapping, *(["lifespan"] if self.handles_lifespan else [])]
            raise NoRouteError(
                "scope type",
                scope_type,
                known,
                "Add an entry for it to the ProtocolTypeRouter mapping.",
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self.application_mapping)!r})"
