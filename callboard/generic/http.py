"""Channels' ``channels.generic.http`` path: the HTTP consumer.

The same object as :mod:`callboard.consumers`; import from either.
"""

from callboard.consumers import AsyncHttpConsumer as AsyncHttpConsumer

__all__ = ["AsyncHttpConsumer"]
