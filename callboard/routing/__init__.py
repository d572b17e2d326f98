"""Routing: which application serves a connection, by scope type, path or channel name.

Channels' three routers with Channels' names and signatures. Uses
``django.urls`` pattern objects and nothing else of Django, so it imports
without ``DJANGO_SETTINGS_MODULE``.
"""

from ._channel_name import ChannelNameRouter as ChannelNameRouter
from ._errors import NoRouteError as NoRouteError
from ._errors import RoutingConfigError as RoutingConfigError
from ._lifespan import LifespanHook as LifespanHook
from ._protocol import ProtocolTypeRouter as ProtocolTypeRouter
from ._url import RouteMatch as RouteMatch
from ._url import URLRouter as URLRouter

__all__ = [
    "ChannelNameRouter",
    "LifespanHook",
    "NoRouteError",
    "ProtocolTypeRouter",
    "RouteMatch",
    "RoutingConfigError",
    "URLRouter",
]
