"""Channels-compatible consumer classes, each an actor speaking ASGI."""

from ._base import AsyncConsumer as AsyncConsumer
from ._base import ShutdownRequested as ShutdownRequested
from ._base import SyncConsumer as SyncConsumer
from ._http import AsyncHttpConsumer as AsyncHttpConsumer
from ._presence import ConsumerPresence as ConsumerPresence
from ._ratelimit import CLOSE_POLICY_VIOLATION as CLOSE_POLICY_VIOLATION
from ._ratelimit import RateLimit as RateLimit
from ._ratelimit import RateLimitAction as RateLimitAction
from ._ratelimit import RateLimitExceeded as RateLimitExceeded
from ._stats import ConnectionStatistics as ConnectionStatistics
from ._stats import connection_statistics as connection_statistics
from ._websocket import CLOSE_GOING_AWAY as CLOSE_GOING_AWAY
from ._websocket import CLOSE_INTERNAL_ERROR as CLOSE_INTERNAL_ERROR
from ._websocket import CLOSE_INVALID_DATA as CLOSE_INVALID_DATA
from ._websocket import CLOSE_TRY_AGAIN_LATER as CLOSE_TRY_AGAIN_LATER
from ._websocket import CLOSE_UNSUPPORTED_DATA as CLOSE_UNSUPPORTED_DATA
from ._websocket import AsyncJsonWebsocketConsumer as AsyncJsonWebsocketConsumer
from ._websocket import AsyncWebsocketConsumer as AsyncWebsocketConsumer
from ._websocket import JsonWebsocketConsumer as JsonWebsocketConsumer
from ._websocket import WebsocketConsumer as WebsocketConsumer

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_INTERNAL_ERROR",
    "CLOSE_INVALID_DATA",
    "CLOSE_POLICY_VIOLATION",
    "CLOSE_TRY_AGAIN_LATER",
    "CLOSE_UNSUPPORTED_DATA",
    "AsyncConsumer",
    "AsyncHttpConsumer",
    "AsyncJsonWebsocketConsumer",
    "AsyncWebsocketConsumer",
    "ConnectionStatistics",
    "ConsumerPresence",
    "JsonWebsocketConsumer",
    "RateLimit",
    "RateLimitAction",
    "RateLimitExceeded",
    "ShutdownRequested",
    "SyncConsumer",
    "WebsocketConsumer",
    "connection_statistics",
]
