"""The Prometheus text exposition format (0.0.4) of a :class:`ProcessStatistics`.

Every metric is named ``callboard_*``; counters end in ``_total``. Labels are
bounded: actor classes, close codes and reasons are few, and groups are cut
to the largest ``max_groups`` (a site with a group per user would otherwise
make one series per user).

Not here: gathering the figures (``_view``), serving them (``_app``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import attrs

from callboard.layers import LatencyStatistics, RedisLayerStatistics

from ._view import LayerStatistics, ProcessStatistics

__all__ = ["CONTENT_TYPE", "render_metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The ``Content-Type`` of the Prometheus text format."""

DEFAULT_MAX_GROUPS = 20
"""How many of the largest groups get a ``callboard_group_members`` series."""

Labels = Mapping[str, object]
Sample = tuple[Labels, float]

_REDIS_LOSSES = (
    "no_receiver",
    "dropped",
    "rejected",
    "over_capacity",
    "expired",
    "undecodable",
    "no_subscriber",
    "failed_sends",
    "lost_group_sends",
)
_INMEMORY_LOSSES = ("no_receiver", "rejected", "expired", "discarded")


def _escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


@attrs.define
class _Writer:
    lines: list[str] = attrs.field(factory=list)

    def metric(self, name: str, kind: str, about: str, samples: Iterable[Sample]) -> None:
        """Write one metric family: its HELP and TYPE lines, then its samples."""
        self.lines.append(f"# HELP callboard_{name} {about}")
        self.lines.append(f"# TYPE callboard_{name} {kind}")
        for labels, value in samples:
            self.sample(name, labels, value)

    def sample(self, name: str, labels: Labels, value: float) -> None:
        """Write one sample line."""
        if labels:
            inner = ",".join(f'{key}="{_escape(val)}"' for key, val in labels.items())
            self.lines.append(f"callboard_{name}{{{inner}}} {_number(value)}")
        else:
            self.lines.append(f"callboard_{name} {_number(value)}")

    def histogram(self, name: str, labels: Labels, stats: LatencyStatistics) -> None:
        """Write one histogram's buckets, sum and count (the family's header is the caller's)."""
        for bound, count in stats.buckets:
            self.sample(f"{name}_bucket", {**labels, "le": _number(bound)}, count)
        self.sample(f"{name}_sum", labels, stats.total_seconds)
        self.sample(f"{name}_count", labels, stats.count)


def _by(label: str, counts: Mapping[str, int] | Mapping[int, int]) -> list[Sample]:
    return [({label: key}, value) for key, value in sorted(counts.items(), key=str)]


def _runtime(out: _Writer, stats: ProcessStatistics, max_groups: int) -> None:
    runtime = stats.runtime
    out.metric("actors", "gauge", "Live actors, by class.", _by("class", runtime.actors_by_class))
    out.metric(
        "mailbox_depth",
        "gauge",
        "Messages queued in the mailboxes of live actors, by class.",
        _by("class", runtime.depth_by_class),
    )
    out.metric(
        "mailbox_peak_depth",
        "gauge",
        "The highest depth a live actor's mailbox reached, by class.",
        _by("class", runtime.peak_depth_by_class),
    )
    totals = runtime.mailboxes
    out.metric("mailboxes", "gauge", "Registered mailboxes.", [({}, totals.live)])
    out.metric(
        "mailbox_sent_total", "counter", "Messages offered to mailboxes.", [({}, totals.sent)]
    )
    out.metric(
        "mailbox_delivered_total",
        "counter",
        "Messages their actors took from their mailboxes.",
        [({}, totals.received)],
    )
    out.metric(
        "mailbox_undelivered_total",
        "counter",
        "Messages offered to mailboxes and never delivered, by reason.",
        _by("reason", totals.undelivered_by_reason),
    )
    registry = runtime.registry
    out.metric(
        "no_receiver_total",
        "counter",
        "Messages for addresses whose actor had ended.",
        [({}, registry.no_receiver)],
    )
    out.metric("groups", "gauge", "Groups with members in this process.", [({}, registry.groups)])
    out.metric(
        "group_memberships",
        "gauge",
        "Group memberships in this process.",
        [({}, registry.memberships)],
    )
    largest = sorted(runtime.group_sizes.items(), key=lambda item: (-item[1], item[0]))
    out.metric(
        "group_members",
        "gauge",
        f"Members of the {max_groups} largest groups in this process.",
        [({"group": group}, size) for group, size in largest[:max_groups]],
    )
    supervisor = runtime.supervisor
    if supervisor is not None:
        out.metric(
            "supervisor_restarts_total",
            "counter",
            "Children the root supervisor restarted.",
            [({}, supervisor.restarts)],
        )
        out.metric(
            "supervisor_failures_total",
            "counter",
            "Children and connections of the root supervisor that failed.",
            [({}, supervisor.failures)],
        )
        out.metric(
            "supervisor_enrolled",
            "gauge",
            "Connections enrolled with the root supervisor.",
            [({}, supervisor.enrolled)],
        )


def _connections(out: _Writer, stats: ProcessStatistics) -> None:
    connections = stats.connections
    out.metric(
        "websocket_connects_total",
        "counter",
        "WebSocket handshakes that reached a consumer.",
        [({}, connections.websocket_connects)],
    )
    out.metric(
        "websocket_accepted_total",
        "counter",
        "WebSocket handshakes accepted.",
        [({}, connections.websocket_accepted)],
    )
    out.metric(
        "websocket_refused_total",
        "counter",
        "WebSocket handshakes refused.",
        [({}, connections.websocket_refused)],
    )
    out.metric(
        "websocket_open", "gauge", "Open WebSocket connections.", [({}, connections.websocket_open)]
    )
    out.metric(
        "websocket_closes_total",
        "counter",
        "Close frames consumers sent, by close code.",
        _by("code", connections.websocket_closes),
    )
    out.metric(
        "websocket_disconnects_total",
        "counter",
        "WebSocket connections that ended, by the close code the server reported.",
        _by("code", connections.websocket_disconnects),
    )
    out.metric(
        "consumer_crashes_total",
        "counter",
        "Connections a handler's exception ended.",
        [({}, connections.crashes)],
    )
    out.metric(
        "rate_limited_total",
        "counter",
        "Inbound messages refused by a rate limit, by consumer class.",
        _by("class", connections.rate_limited),
    )


def _layer(alias: str, layer: LayerStatistics) -> list[tuple[str, Sample]]:
    """Return the layer's samples by metric name (written grouped, after every layer)."""
    labels = {"layer": alias}
    samples: list[tuple[str, Sample]] = [
        ("layer_sends_total", (labels, layer.sends)),
        ("layer_group_sends_total", (labels, layer.group_sends)),
    ]
    reasons = _REDIS_LOSSES if isinstance(layer, RedisLayerStatistics) else _INMEMORY_LOSSES
    for reason in reasons:
        samples.append(
            ("layer_undelivered_total", ({**labels, "reason": reason}, getattr(layer, reason)))
        )
    if isinstance(layer, RedisLayerStatistics):
        samples += [
            ("layer_connected", (labels, int(layer.connected))),
            ("layer_reconnects_total", (labels, layer.reconnects)),
            ("presence_members", (labels, layer.present)),
            ("presence_ghosts_total", (labels, layer.presence_ghosts)),
        ]
    return samples


_LAYER_METRICS = {
    "layer_sends_total": ("counter", "send() calls, by layer alias."),
    "layer_group_sends_total": ("counter", "group_send() calls, by layer alias."),
    "layer_undelivered_total": (
        "counter",
        "Messages a channel layer did not deliver, by alias and reason.",
    ),
    "layer_connected": ("gauge", "1 when every Redis server of the layer answers."),
    "layer_reconnects_total": ("counter", "Times a Redis server of the layer came back."),
    "presence_members": ("gauge", "Members this process keeps present, by layer."),
    "presence_ghosts_total": (
        "counter",
        "Present members of dead processes this process removed, by layer.",
    ),
}


def _layers(out: _Writer, stats: ProcessStatistics) -> None:
    grouped: dict[str, list[Sample]] = {name: [] for name in _LAYER_METRICS}
    for alias, layer in sorted(stats.layers.items()):
        for name, sample in _layer(alias, layer):
            grouped[name].append(sample)
    for name, samples in grouped.items():
        if samples:
            kind, about = _LAYER_METRICS[name]
            out.metric(name, kind, about, samples)
    redis = {a: s for a, s in sorted(stats.layers.items()) if isinstance(s, RedisLayerStatistics)}
    if redis:
        name = "layer_round_trip_seconds"
        out.lines.append(f"# HELP callboard_{name} Redis command round trips, by layer alias.")
        out.lines.append(f"# TYPE callboard_{name} histogram")
        for alias, layer in redis.items():
            out.histogram(name, {"layer": alias}, layer.round_trips)


def render_metrics(stats: ProcessStatistics, *, max_groups: int = DEFAULT_MAX_GROUPS) -> str:
    """Return ``stats`` in the Prometheus text exposition format (version 0.0.4).

    Args:
        stats: what to render (:func:`~callboard.metrics.process_statistics`).
        max_groups: how many of the largest groups get a ``callboard_group_members`` series.

    Returns:
        The text, ending with a newline.
    """
    out = _Writer()
    _runtime(out, stats, max_groups)
    _connections(out, stats)
    _layers(out, stats)
    return "\n".join(out.lines) + "\n"
