"""Channels' ``channels.consumer`` path: the base consumer classes.

The same objects as :mod:`callboard.consumers`; import from either.
"""

from callboard.consumers import AsyncConsumer as AsyncConsumer
from callboard.consumers import SyncConsumer as SyncConsumer

__all__ = ["AsyncConsumer", "SyncConsumer"]
