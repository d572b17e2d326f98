"""The process view: the runtime's roll-up, the connections, and every channel layer in use.

:func:`process_statistics` gathers, in one call, the snapshots the rest of
callboard already keeps: ``Runtime.statistics()`` (actors, mailboxes,
groups, supervision), the consumers' connection counters, and the
``statistics()`` of each channel layer built so far. Nothing is counted
here; it is read when asked (a scrape), never per message.

Not here: the Prometheus text (``_exposition``), the endpoint (``_app``).
"""

from __future__ import annotations

import attrs

from callboard.actors import RuntimeStatistics, current_runtime
from callboard.consumers import ConnectionStatistics, connection_statistics
from callboard.layers import InMemoryLayerStatistics, RedisLayerStatistics, channel_layers

__all__ = ["LayerStatistics", "ProcessStatistics", "process_statistics"]

LayerStatistics = InMemoryLayerStatistics | RedisLayerStatistics
"""A channel layer's snapshot, as its ``statistics()`` returns it."""


@attrs.frozen(kw_only=True)
class ProcessStatistics:
    """One snapshot of everything the running event loop serves.

    Attributes:
        runtime: actors by class, mailbox depths and peaks, messages delivered
            and undelivered by reason, groups, the root supervisor.
        connections: WebSocket connects, accepts, closes and disconnects by
            code, crashes, rate-limited messages, shutdown closes.
        layers: each channel layer built so far, by alias, with its own
            snapshot (the Redis layers' include round-trip times).
    """

    runtime: RuntimeStatistics
    connections: ConnectionStatistics
    layers: dict[str, LayerStatistics]


def process_statistics() -> ProcessStatistics:
    """Return the running event loop's :class:`ProcessStatistics`.

    Raises:
        RuntimeError: no event loop is running.
    """
    layers: dict[str, LayerStatistics] = {}
    for alias, layer in channel_layers.built().items():
        statistics = getattr(layer, "statistics", None)
        if callable(statistics):
            snapshot = statistics()
            if isinstance(snapshot, InMemoryLayerStatistics | RedisLayerStatistics):
                layers[alias] = snapshot
    return ProcessStatistics(
        runtime=current_runtime().statistics(),
        connections=connection_statistics(),
        layers=layers,
    )
