"""Redis layer statistics: the counters both Redis layers keep, and their frozen snapshot.

Every message a Redis layer does not deliver is counted here, by reason,
and logged at a bounded rate: refused by a full queue, expired unread,
addressed to an actor that has ended, undecodable, or lost while Redis was
unreachable. Round trips to Redis are timed into a histogram (two clock
reads per command; blocking pops, which wait on purpose, are not timed).

Not here: the layers that count (``_redis_core``, ``_redis_pubsub``).
"""

from __future__ import annotations

import bisect

import attrs

__all__ = ["LatencyHistogram", "LatencyStatistics", "RedisCounters", "RedisLayerStatistics"]

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Upper bounds, in seconds, of the round-trip histogram's buckets (then +Inf)."""


@attrs.frozen(kw_only=True)
class LatencyStatistics:
    """A snapshot of a latency histogram.

    Attributes:
        count: observations.
        total_seconds: their sum.
        max_seconds: the longest.
        buckets: ``(upper bound, observations at or below it)`` pairs, cumulative
            as in Prometheus, ending with ``(inf, count)``.
    """

    count: int
    total_seconds: float
    max_seconds: float
    buckets: tuple[tuple[float, int], ...]

    @property
    def mean_seconds(self) -> float:
        """The mean, or 0 without observations."""
        return self.total_seconds / self.count if self.count else 0.0


@attrs.define(eq=False)
class LatencyHistogram:
    """Counts durations into :data:`LATENCY_BUCKETS` (one ``bisect`` per observation)."""

    _counts: list[int] = attrs.field(factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    _total: float = 0.0
    _max: float = 0.0

    def observe(self, seconds: float) -> None:
        """Count one duration."""
        self._counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self._total += seconds
        if seconds > self._max:
            self._max = seconds

    def snapshot(self) -> LatencyStatistics:
        """Freeze the histogram."""
        cumulative: list[tuple[float, int]] = []
        running = 0
        for bound, count in zip((*LATENCY_BUCKETS, float("inf")), self._counts, strict=True):
            running += count
            cumulative.append((bound, running))
        return LatencyStatistics(
            count=running,
            total_seconds=self._total,
            max_seconds=self._max,
            buckets=tuple(cumulative),
        )


@attrs.frozen(kw_only=True)
class RedisLayerStatistics:
    """A snapshot of a Redis layer, as seen from the running event loop.

    Counts are the layer object's, across the event loops that used it;
    ``open``, ``connected``, ``memberships`` and ``inbox_keys`` describe the
    running loop.

    Attributes:
        open: the layer runs in this event loop (its background tasks have an owner).
        connected: open, and every shard answered its last command.
        shards: how many Redis servers the layer shards over.
        sends: ``send()`` calls with a valid channel and message.
        group_sends: ``group_send()`` calls with a valid group and message.
        receives: messages ``receive()`` returned from general channels.
        published: pub/sub only: messages published.
        local_deliveries: messages put into this process's mailboxes (one per receiver).
        no_receiver: messages for an address of this process with no mailbox
            (its actor ended).
        dropped: messages a full mailbox refused under its own policy (also
            counted on the mailbox).
        rejected: ``send()`` calls refused by a full queue (``ChannelFull`` raised).
        over_capacity: group messages a full queue refused (one per queue,
            that is per receiving process or general channel).
        over_capacity_channels: the channels those refused group messages were for.
        expired: messages that outlived ``expiry`` unread, dropped and counted.
        undecodable: envelopes that could not be opened (wrong key, not a dict ...).
        no_subscriber: pub/sub only: messages published while nobody listened.
        failed_sends: ``send()`` calls that raised ``LayerUnavailableError``.
        lost_group_sends: ``group_send()`` calls that could not reach every
            receiving queue because Redis was unavailable.
        deferred_membership_changes: ``group_add`` / ``group_discard`` calls
            made while Redis was unavailable, applied on reconnection.
        disconnects: times a shard went from available to unavailable.
        reconnects: times a shard came back.
        server_restarts: reconnections that found a restarted server (what it
            held in memory was lost).
        memberships_restored: memberships re-added after reconnections.
        inflight_requeued: popped-but-unfinished messages put back in their queue.
        presence_joins: members this process made present (re-joins included).
        presence_leaves: leaves this process announced (discarded, ended, ghosts).
        presence_ghosts: members of other processes this one found timed out and removed.
        memberships: this loop's live memberships of its own channels.
        present: this loop's present members (over every group).
        inbox_keys: the per-process inbox queues this loop reads.
        round_trips: how long Redis commands and scripts took, from this process.
    """

    open: bool
    connected: bool
    shards: int
    sends: int
    group_sends: int
    receives: int
    published: int
    local_deliveries: int
    no_receiver: int
    dropped: int
    rejected: int
    over_capacity: int
    over_capacity_channels: int
    expired: int
    undecodable: int
    no_subscriber: int
    failed_sends: int
    lost_group_sends: int
    deferred_membership_changes: int
    disconnects: int
    reconnects: int
    server_restarts: int
    memberships_restored: int
    inflight_requeued: int
    presence_joins: int
    presence_leaves: int
    presence_ghosts: int
    memberships: int
    present: int
    inbox_keys: int
    round_trips: LatencyStatistics

    @property
    def undelivered(self) -> int:
        """Messages (or group messages) this process knows were not delivered."""
        return (
            self.no_receiver
            + self.dropped
            + self.rejected
            + self.over_capacity
            + self.expired
            + self.undecodable
            + self.no_subscriber
            + self.failed_sends
            + self.lost_group_sends
        )


@attrs.define(eq=False)
class RedisCounters:
    """The mutable counters behind :class:`RedisLayerStatistics` (one set per layer object)."""

    sends: int = 0
    group_sends: int = 0
    receives: int = 0
    published: int = 0
    local_deliveries: int = 0
    no_receiver: int = 0
    dropped: int = 0
    rejected: int = 0
    over_capacity: int = 0
    over_capacity_channels: int = 0
    expired: int = 0
    undecodable: int = 0
    no_subscriber: int = 0
    failed_sends: int = 0
    lost_group_sends: int = 0
    deferred_membership_changes: int = 0
    disconnects: int = 0
    reconnects: int = 0
    server_restarts: int = 0
    memberships_restored: int = 0
    inflight_requeued: int = 0
    presence_joins: int = 0
    presence_leaves: int = 0
    presence_ghosts: int = 0
    round_trips: LatencyHistogram = attrs.field(factory=LatencyHistogram)

    def snapshot(
        self,
        *,
        open: bool,
        connected: bool,
        shards: int,
        memberships: int,
        present: int,
        inbox_keys: int,
    ) -> RedisLayerStatistics:
        """Freeze the counters together with the running loop's state."""
        counts = attrs.asdict(self, filter=lambda a, _: a.name != "round_trips")
        return RedisLayerStatistics(
            open=open,
            connected=connected,
            shards=shards,
            memberships=memberships,
            present=present,
            inbox_keys=inbox_keys,
            round_trips=self.round_trips.snapshot(),
            **counts,
        )
