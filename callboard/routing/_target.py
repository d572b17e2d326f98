"""Checking that what a routing table points at is an ASGI application.

The classic mistake is routing a consumer class (``ChatConsumer``) where its
application (``ChatConsumer.as_asgi()``) belongs. Channels accepts it and
fails on the first connection with a ``TypeError`` from the consumer's
constructor; callboard refuses the table when it is built.
"""

from __future__ import annotations

from ._errors import RoutingConfigError

__all__ = ["require_application"]


def require_application(target: object, where: str) -> None:
    """Raise unless ``target`` can be an ASGI 3 application.

    Args:
        target: what a router entry points at.
        where: the entry, for the message (``"URLRouter route 'chat/<room>/'"``).

    Raises:
        RoutingConfigError: ``target`` is a class (a consumer class above all)
            or is not callable.
    """
    if isinstance(target, type):
        name = target.__qualname__
        if callable(getattr(target, "as_asgi", None)):
            problem = (
                f"got the consumer class {name}, not an ASGI application. "
                f"Route {name}.as_asgi() instead."
            )
        else:
            problem = (
                f"got the class {name}, not an ASGI application. Route an instance, "
                "or an async callable taking (scope, receive, send)."
            )
        raise RoutingConfigError(where, problem)
    if not callable(target):
        raise RoutingConfigError(
            where,
            f"got {target!r}, which is not callable. Route an ASGI application: "
            "an async callable taking (scope, receive, send).",
        )
