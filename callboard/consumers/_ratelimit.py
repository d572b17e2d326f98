"""Rate limits: a token bucket per connection on the messages its client sends.

A consumer class opts in with ``rate_limit = RateLimit(rate=10, burst=20)``.
The connection's pump (the task that moves ASGI events into the mailbox)
takes one token per inbound WebSocket message before the message reaches
the mailbox; the bucket refills at ``rate`` tokens a second up to ``burst``.
Over the limit, the message is dropped (counted, logged at a bounded rate)
or the connection is closed with ``close_code`` (1008, *policy violation*,
by default) through a mailbox signal, so no handler is ever raced. Without a
limit (the default) the pump is the plain one: no work per message.

Not here: the pump itself (``_base``).
"""

from __future__ import annotations

import enum
import logging
import math
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from callboard._asgi import Receive
from callboard.actors import Mailbox
from callboard.actors._ratelog import RateLimitedLog

if TYPE_CHECKING:
    from ._base import AsyncConsumer

__all__ = [
    "CLOSE_POLICY_VIOLATION",
    "RateLimit",
    "RateLimitAction",
    "RateLimitExceeded",
    "pump_limited",
]

logger = logging.getLogger("callboard.consumers")
_ratelog = RateLimitedLog(logger)

_DISCONNECT_EVENTS = frozenset({"websocket.disconnect", "http.disconnect"})

CLOSE_POLICY_VIOLATION = 1008
"""WebSocket close code for a client over its rate limit (*policy violation*)."""

_RESERVED_CODES = frozenset({1004, 1005, 1006, 1015})
"""Codes a close frame must never carry (RFC 6455, 7.4.1)."""


class RateLimitAction(enum.Enum):
    """What happens to a message over the limit."""

    DROP = "drop"
    """The message is not delivered (counted as ``rate_limited``, logged); the connection stays."""
    CLOSE = "close"
    """The connection is closed with the limit's ``close_code``; later messages are dropped."""


def _action(value: RateLimitAction | str) -> RateLimitAction:
    if isinstance(value, RateLimitAction):
        return value
    try:
        return RateLimitAction(value)
    except ValueError:
        valid = ", ".join(repr(action.value) for action in RateLimitAction)
        raise ValueError(f"Unknown rate-limit action {value!r}; use one of {valid}.") from None


def _positive_rate(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(
            f"RateLimit.rate must be a positive number of messages a second, got {value!r}."
        )


def _burst(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"RateLimit.burst must be a positive int, got {value!r}.")


def _close_code(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not (value == 1000 or 1001 <= value <= 1014 or 3000 <= value <= 4999)
        or value in _RESERVED_CODES
    ):
        raise ValueError(
            f"RateLimit.close_code must be a close code a server may send (1000-1014 except "
            f"1004-1006, or 3000-4999), got {value!r}; 1008 means policy violation."
        )


@attrs.frozen(kw_only=True)
class RateLimit:
    """A per-connection limit on inbound WebSocket messages (a token bucket).

    Attributes:
        rate: messages a second the client may send on average (tokens added per second).
        burst: how many it may send at once (the bucket's size); by default
            ``rate`` rounded up, at least 1.
        action: ``"drop"`` (default: the message is counted and dropped) or
            ``"close"`` (the connection is closed with ``close_code``).
        close_code: the WebSocket close code for ``"close"`` (1008, *policy violation*).

    Raises:
        ValueError: a non-positive rate or burst, an unknown action, or a close
            code a server may not send.
    """

    rate: float = attrs.field(validator=_positive_rate)
    burst: int = attrs.field(validator=_burst)
    action: RateLimitAction = attrs.field(default=RateLimitAction.DROP, converter=_action)
    close_code: int = attrs.field(default=CLOSE_POLICY_VIOLATION, validator=_close_code)

    @burst.default
    def _default_burst(self) -> int:
        return max(1, math.ceil(self.rate))


@attrs.frozen(kw_only=True)
class RateLimitExceeded:
    """Signal to a consumer: its client went over a ``"close"`` rate limit; close now.

    Attributes:
        limit: the limit it went over.
    """

    limit: RateLimit


@attrs.define(eq=False)
class TokenBucket:
    """One connection's bucket: refills at ``rate`` tokens a second up to ``burst``.

    Build it with :meth:`full`.
    """

    _rate: float
    _burst: float
    _tokens: float
    _last: float

    @classmethod
    def full(cls, limit: RateLimit, now: float) -> TokenBucket:
        """Return a full bucket for ``limit``."""
        return cls(limit.rate, float(limit.burst), float(limit.burst), now)

    def take(self, now: float) -> bool:
        """Take one token at time ``now``; return whether there was one."""
        tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if tokens >= 1.0:
            self._tokens = tokens - 1.0
            return True
        self._tokens = tokens
        return False


async def pump_limited(
    consumer: AsyncConsumer, receive: Receive, mailbox: Mailbox, limit: RateLimit
) -> None:
    """The consumer's pump under a rate limit: one token per inbound WebSocket message.

    Over the limit the message is counted (``rate_limited``) and logged at a
    bounded rate, then dropped; with ``"close"``, the consumer is signalled
    once (:class:`RateLimitExceeded`) and what the client sends until it is
    gone is dropped too. Connection events are never limited.
    """
    bucket = TokenBucket.full(limit, anyio.current_time())
    closing = False
    while True:
        event = await receive()
        kind = event.get("type")
        if kind in _DISCONNECT_EVENTS:
            consumer._peer_gone(event)
            await mailbox.send(event)
            return
        if kind == "websocket.receive" and (closing or not bucket.take(anyio.current_time())):
            _count(consumer, limit)
            if limit.action is RateLimitAction.CLOSE and not closing:
                closing = True
                mailbox.signal_nowait(RateLimitExceeded(limit=limit))
            continue
        await mailbox.send(event)


def _count(consumer: AsyncConsumer, limit: RateLimit) -> None:
    name = type(consumer).__qualname__
    counters = consumer._counters
    if counters is not None:
        counters.rate_limited[name] = counters.rate_limited.get(name, 0) + 1
    what = "dropped" if limit.action is RateLimitAction.DROP else "dropped; closing"
    _ratelog.log(
        logging.WARNING,
        f"rate_limit:{name}",
        "%s %r: a client went over its rate limit (%g messages/s, burst %d): %s "
        "(counted as rate_limited).",
        name,
        getattr(consumer, "channel_name", None),
        limit.rate,
        limit.burst,
        what,
    )
