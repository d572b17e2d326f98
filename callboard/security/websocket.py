"""Channels' import location ``channels.security.websocket``, for ports that rename the package.

The same objects as in :mod:`callboard.django_bridge`.
"""

from callboard.django_bridge import AllowedHostsOriginValidator as AllowedHostsOriginValidator
from callboard.django_bridge import OriginValidator as OriginValidator
from callboard.django_bridge import WebsocketDenier as WebsocketDenier

__all__ = ["AllowedHostsOriginValidator", "OriginValidator", "WebsocketDenier"]
