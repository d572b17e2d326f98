"""A diagnostic knob: ``BENCH_GC`` changes or measures the server's garbage collector.

``BENCH_GC=off`` disables the cyclic collector, ``freeze`` moves everything
alive after import to the permanent generation, ``threshold:N`` sets the
youngest generation's threshold to N, and ``measure`` leaves the collector
alone but times every collection (reported by ``GET /bench/stats``). Unset
(the default, and what the suite measures) nothing changes. It exists to
measure how much of a server's time the collector takes; it is not a tuning
the suite applies.
"""

from __future__ import annotations

import gc
import os
import time
from typing import Any

__all__ = ["apply_gc_knob", "gc_statistics"]

_timing: dict[str, Any] = {"collections": [0, 0, 0], "seconds": [0.0, 0.0, 0.0]}
_started: list[float] = [0.0]


def _on_gc(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
    else:
        generation = info.get("generation", 0)
        _timing["collections"][generation] += 1
        _timing["seconds"][generation] += time.perf_counter() - _started[0]


def apply_gc_knob() -> str | None:
    """Apply ``BENCH_GC`` if set; return what was applied."""
    knob = os.environ.get("BENCH_GC", "").strip()
    if not knob:
        return None
    if knob == "off":
        gc.disable()
    elif knob == "freeze":
        gc.collect()
        gc.freeze()
    elif knob == "measure":
        gc.callbacks.append(_on_gc)
    elif knob.startswith("threshold:"):
        _, second, third = gc.get_threshold()
        gc.set_threshold(int(knob.split(":", 1)[1]), second, third)
    else:
        raise ValueError(
            f"BENCH_GC must be 'off', 'freeze', 'measure' or 'threshold:N', got {knob!r}."
        )
    return knob


def gc_statistics() -> dict[str, Any]:
    """The collector's counters, and the time it took when ``BENCH_GC=measure``."""
    return {
        "knob": os.environ.get("BENCH_GC") or None,
        "counts": list(gc.get_count()),
        "threshold": list(gc.get_threshold()),
        "collections": [s["collections"] for s in gc.get_stats()],
        "timed_collections": list(_timing["collections"]),
        "timed_seconds": [round(s, 4) for s in _timing["seconds"]],
        **(_census() if os.environ.get("BENCH_GC") == "measure" else {}),
    }


def _census(top: int = 40) -> dict[str, Any]:
    """How many objects the collector tracks, and the most common types among them."""
    objects = gc.get_objects()
    counts: dict[str, int] = {}
    for obj in objects:
        kind = type(obj)
        name = f"{kind.__module__}.{kind.__qualname__}"
        counts[name] = counts.get(name, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: -item[1])[:top]
    return {"tracked_objects": len(objects), "top_types": dict(ranked)}
