"""Redis layer statistics: the counters both Redis layers keep, and their frozen snapshot.

Every message a Redis layer does not deliver is counted here, by reason,
and logged at a bounded rate: refused by a full queue, expired unread,
addressed to an actor that has ended, undecodable, or lost while Redis was
unreachable.

Not here: the layers that count (``_redis_core``, ``_redis_pubsub``).
"""

from __future__ import annotations

import attrs

__all__ = ["RedisCounters", "RedisLayerStatistics"]


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
        memberships: this loop's live memberships of its own channels.
        inbox_keys: the per-process inbox queues this loop reads.
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
    memberships: int
    inbox_keys: int

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

    def snapshot(
        self, *, open: bool, connected: bool, shards: int, memberships: int, inbox_keys: int
    ) -> RedisLayerStatistics:
        """Freeze the counters together with the running loop's state."""
        return RedisLayerStatistics(
            open=open,
            connected=connected,
            shards=shards,
            memberships=memberships,
            inbox_keys=inbox_keys,
            **attrs.asdict(self),
        )
