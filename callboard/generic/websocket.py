"""Channels' ``channels.generic.websocket`` path: the WebSocket consumers.

The same objects as :mod:`callboard.consumers`; import from either.
"""

from callboard.consumers import AsyncJsonWebsocketConsumer as AsyncJsonWebsocketConsumer
from callboard.consumers import AsyncWebsocketConsumer as AsyncWebsocketConsumer
from callboard.consumers import JsonWebsocketConsumer as JsonWebsocketConsumer
from callboard.consumers import WebsocketConsumer as WebsocketConsumer

__all__ = [
    "AsyncJsonWebsocketConsumer",
    "AsyncWebsocketConsumer",
    "JsonWebsocketConsumer",
    "WebsocketConsumer",
]
