"""ChannelNameRouter: background-worker scopes, dispatched by channel name.

A worker (``runworker``) serves one ``{"type": "channel", "channel": name}``
scope per channel it listens on; this router picks the application for the
name.

Not here: which scope types reach it (``_protocol``).
"""

from __future__ import annotations

from collections.abc import Mapping

from callboard._asgi import ASGIApp, Receive, Scope, Send

from ._errors import NoRouteError, RoutingConfigError
from ._target import require_application

__all__ = ["ChannelNameRouter"]


class ChannelNameRouter:
    """Dispatch ``channel`` scopes to the application configured for ``scope["channel"]``.

    Mount it as the ``"channel"`` entry of a :class:`ProtocolTypeRouter`.

    Attributes:
        application_mapping: channel name to application, as given.

    Args:
        application_mapping: channel name to the ASGI application (usually
            ``Consumer.as_asgi()``) that serves it.

    Raises:
        RoutingConfigError: an application is a consumer class (route
            ``Consumer.as_asgi()``) or not callable.
    """

    def __init__(self, application_mapping: Mapping[str, ASGIApp]) -> None:
        for channel, application in application_mapping.items():
            require_application(application, f"ChannelNameRouter entry {channel!r}")
        self.application_mapping = application_mapping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one worker scope with the application for its channel name.

        Args:
            scope: a ``channel`` scope with a ``channel`` key.
            receive: the worker's ``receive``.
            send: the worker's ``send``.

        Raises:
            RoutingConfigError: the scope is not a ``channel`` scope, or has
                no ``channel`` key (the router is mounted in the wrong place).
            NoRouteError: no application is configured for the channel name
                (a ``ValueError``, as in Channels).
        """
        scope_type = scope.get("type")
        if scope_type != "channel":
            raise RoutingConfigError(
                "ChannelNameRouter",
                f"got a {scope_type!r} scope, but it routes only 'channel' scopes "
                "(background workers). Mount it as the 'channel' entry of a "
                "ProtocolTypeRouter.",
            )
        if "channel" not in scope:
            raise RoutingConfigError(
                "ChannelNameRouter",
                "got a 'channel' scope without a 'channel' key; the worker must "
                "name the channel it serves.",
            )
        channel = scope["channel"]
        application = self.application_mapping.get(channel)
        if application is None:
            raise NoRouteError(
                "channel name",
                channel,
                list(self.application_mapping),
                "Add an entry for it to the ChannelNameRouter mapping, or stop the "
                "worker listening on it.",
            )
        await application(scope, receive, send)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self.application_mapping)!r})"
