"""Rate-limited logging for events that can repeat thousands of times a second.

A drop, an expiry or a rejection is logged the first time it happens for a
key, then at most once per interval with the count of what was suppressed in
between, so a flood cannot flood the log.
"""

from __future__ import annotations

import logging
import time

import attrs

__all__ = ["RateLimitedLog"]


@attrs.define(eq=False)
class RateLimitedLog:
    """Log at most once per ``interval`` seconds per key, counting the rest.

    Args:
        logger: where records go.
        interval: the shortest gap between two records for one key, in seconds.
    """

    _logger: logging.Logger
    _interval: float = 10.0
    _last: dict[str, float] = attrs.field(factory=dict)
    _suppressed: dict[str, int] = attrs.field(factory=dict)

    def log(self, level: int, key: str, msg: str, *args: object) -> None:
        """Log ``msg % args`` under ``key`` unless one was logged too recently."""
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        if len(self._last) > 10_000:
            self._last.clear()
            self._suppressed.clear()  # else keys seen twice, never again, pile up
        self._last[key] = now
        suppressed = self._suppressed.pop(key, 0)
        if suppressed:
            msg += " (%d similar suppressed in the last %.0f s)"
            args = (*args, suppressed, self._interval)
        self._logger.log(level, msg, *args)
