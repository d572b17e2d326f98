"""The garbage-collection policy for a server process holding thousands of connections.

Each connection keeps a few dozen objects alive across every wait (its task,
its suspended coroutines, cancel scopes, events). With CPython's default
thresholds (700 allocations for a young collection) those objects are
scanned again and again and promoted, and full collections of hundreds of
thousands of objects follow: measured here, 11.8 s of 18.3 s of server CPU
in a 1,000-member fan-out went to the collector. Freezing what start-up
allocated and collecting young objects less often roughly doubled fan-out
throughput (bench/RESULTS.md).

Not here: when it is applied (``callboard.server.serve`` and the routers'
lifespan startup).
"""

from __future__ import annotations

import gc

__all__ = ["DEFAULT_GC_THRESHOLD", "tune_gc"]

DEFAULT_GC_THRESHOLD = 50_000
"""Allocations between young-generation collections in a serving process."""


def tune_gc(threshold: int | None = DEFAULT_GC_THRESHOLD, *, freeze: bool = False) -> None:
    """Collect young objects less often and, in a dedicated server process, freeze start-up.

    ``callboard serve`` calls it with ``freeze=True`` once the application is
    loaded; a ``ProtocolTypeRouter``'s lifespan startup and the programmatic
    :func:`callboard.server.serve` only raise the threshold, since they may
    share the process with other work (a test session).

    Args:
        threshold: the young generation's threshold (CPython's default is
            700); ``None`` leaves the collector as it is.
        freeze: move every object allocated so far out of the collector's
            reach for good (``gc.freeze()``): right for the modules, settings
            and routes of a process that keeps them for its whole life.

    Raises:
        ValueError: a threshold below 1.
    """
    if threshold is None:
        return
    if threshold < 1:
        raise ValueError(f"The GC threshold must be positive or None, got {threshold!r}.")
    if freeze:
        gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(threshold, older, oldest)
