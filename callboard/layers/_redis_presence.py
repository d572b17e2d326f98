"""Presence on Redis: who is in a group across processes, kept alive by heartbeats.

channels_redis' group set (``{prefix}:group:{group}``) stays exactly as it is,
so a channels_redis process still reads and writes it. Beside it, for the
members added with metadata, on the group's shard:

- ``{prefix}:presence:{group}`` — a hash: channel → envelope of
  ``{"metadata": ..., "joined_at": <Unix time>}`` (encrypted like messages
  when ``symmetric_encryption_keys`` is set);
- ``{prefix}:presence:{group}:seen`` — a sorted set: channel → its last heartbeat;
- ``{prefix}:presence:{group}:stale`` — a set: channels removed for missing
  heartbeats (so their process, if it was only stalled, puts them back).

Every ``presence_heartbeat_interval`` each process renews its own present
members and sweeps every group it has members or watchers in: an entry not
renewed for ``presence_timeout`` is removed (hash, heartbeat, group set) in
the same script that finds it, so exactly one process announces each
ghost's leaving. Listing and counting sweep too.

Not here: the layer API (``_redis_core``), the scripts (``_redis_scripts``),
the in-process side of presence (``callboard.actors``: records, events).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from callboard.actors import PresenceMember, presence_event, presence_events_group
from callboard.exceptions import InvalidNameError, LayerUnavailableError

from ._redis_envelope import EnvelopeError
from ._redis_general import key_ttl
from ._redis_scripts import GROUP_SIZE, PRESENCE_ADD, PRESENCE_BEAT, PRESENCE_DISCARD, PRESENCE_LIST
from ._redis_shard import Shard, log_rate_limited

if TYPE_CHECKING:
    from ._redis_layer import RedisLayerBase
    from ._redis_state import LoopState

__all__ = ["PresenceKeeper", "group_size", "presence_list"]

logger = logging.getLogger("callboard.layers.redis")


def presence_keys(layer: RedisLayerBase, group: str) -> list[str]:
    """The four keys a presence script takes: group set, records, heartbeats, stale set."""
    base = f"{layer.options.prefix}:presence:{group}"
    return [layer.group_key(group), base, base + ":seen", base + ":stale"]


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def encode_record(layer: RedisLayerBase, member: PresenceMember) -> bytes:
    """Return the stored form of ``member``'s record (metadata and join time).

    Raises:
        InvalidMessageError: the metadata cannot be serialized.
    """
    return layer.envelopes.encode(
        {"metadata": dict(member.metadata), "joined_at": member.joined_at}
    )


def decode_record(layer: RedisLayerBase, channel: str, record: bytes) -> PresenceMember | None:
    """Open a stored record; ``None`` (logged) if it cannot be opened."""
    try:
        data = layer.envelopes.decode(record)
        return PresenceMember(
            address=channel,
            metadata=dict(data.get("metadata") or {}),
            joined_at=float(data.get("joined_at", 0.0)),
        )
    except (EnvelopeError, TypeError, ValueError) as exc:
        log_rate_limited(
            logging.WARNING,
            f"presence-undecodable:{channel}",
            "Could not open the presence record of %r: %s (check symmetric_encryption_keys "
            "and serializer_format match every process).",
            channel,
            exc,
        )
        return None


def _pairs(layer: RedisLayerBase, flat: Sequence[Any]) -> list[PresenceMember]:
    members = []
    for i in range(0, len(flat), 2):
        member = decode_record(layer, _text(flat[i]), bytes(flat[i + 1]))
        if member is not None:
            members.append(member)
    return members


async def announce(
    layer: RedisLayerBase,
    group: str,
    *,
    joins: Sequence[PresenceMember] = (),
    leaves: Sequence[PresenceMember] = (),
) -> None:
    """Send ``group``'s watchers one ``callboard.presence`` diff (nothing if it is empty)."""
    if not joins and not leaves:
        return
    layer.counters.presence_joins += len(joins)
    layer.counters.presence_leaves += len(leaves)
    await layer.group_send(
        presence_events_group(group), presence_event(group, joins=joins, leaves=leaves)
    )


async def announce_ghosts(layer: RedisLayerBase, group: str, pruned: Sequence[Any]) -> None:
    """Announce the members a sweep removed for missing heartbeats."""
    ghosts = _pairs(layer, pruned)
    if ghosts:
        layer.counters.presence_ghosts += len(ghosts)
        logger.info(
            "Group %r: %d member(s) missed their heartbeats for %g s (their process is gone); "
            "removed and announced as left.",
            group,
            len(ghosts),
            layer.options.presence_timeout,
        )
        await announce(layer, group, leaves=ghosts)


def _ttl(layer: RedisLayerBase) -> int:
    return key_ttl(layer.config.group_expiry)


async def presence_list(layer: RedisLayerBase, group: str) -> list[PresenceMember]:
    """Return ``group``'s present members in join order, sweeping its ghosts first."""
    cutoff = repr(time.time() - layer.options.presence_timeout)
    keys = presence_keys(layer, group)
    result = await layer.on_shard(
        layer.group_shard(group),
        "presence",
        lambda shard: shard.run_script("presence", PRESENCE_LIST, keys, [cutoff, _ttl(layer)]),
    )
    await announce_ghosts(layer, group, result[0])
    return sorted(_pairs(layer, result[1]), key=lambda member: member.joined_at)


async def group_size(layer: RedisLayerBase, group: str) -> int:
    """Return how many members ``group`` has, sweeping ghosts and lapsed memberships first."""
    now = time.time()
    args = [
        repr(now - layer.options.presence_timeout),
        _ttl(layer),
        repr(now - layer.config.group_expiry),
    ]
    keys = presence_keys(layer, group)
    result = await layer.on_shard(
        layer.group_shard(group),
        "group_size",
        lambda shard: shard.run_script("group_size", GROUP_SIZE, keys, args),
    )
    await announce_ghosts(layer, group, result[1])
    return int(result[0])


async def discard(layer: RedisLayerBase, group: str, channel: str) -> PresenceMember | None:
    """Remove ``channel`` from ``group`` and from its presence; return its record if it had one.

    Raises:
        LayerUnavailableError: Redis is unavailable.
    """
    keys = presence_keys(layer, group)
    record = await layer.on_shard(
        layer.group_shard(group),
        "group_discard",
        lambda shard: shard.run_script("group_discard", PRESENCE_DISCARD, keys, [channel]),
    )
    return None if record is None else decode_record(layer, channel, bytes(record))


async def end(layer: RedisLayerBase, group: str, channel: str) -> None:
    """End ``channel``'s presence in ``group`` (it stays a member) and announce it."""
    try:
        left = await discard(layer, group, channel)
    except LayerUnavailableError:
        return  # its heartbeat has stopped: others announce it after presence_timeout
    if left is not None:
        await announce(layer, group, leaves=[left])


@attrs.frozen
class _Present:
    """One present member of this process: its record, and the record's stored form."""

    member: PresenceMember
    record: bytes


@attrs.define(eq=False)
class PresenceKeeper:
    """This loop's present members and watched groups, and the heartbeat that keeps them.

    Runs as a task of the layer's per-loop state (:meth:`serve`).
    """

    state: LoopState
    present: dict[str, dict[str, _Present]] = attrs.field(factory=dict)
    """Group → this process's present members (channel → record)."""
    watched: dict[str, set[str]] = attrs.field(factory=dict)
    """Group → this process's channels that watch it."""

    @property
    def layer(self) -> RedisLayerBase:
        """The layer this keeps presence for."""
        return self.state.layer

    def count(self) -> int:
        """How many present members this loop keeps, over every group."""
        return sum(len(members) for members in self.present.values())

    # -- joining and leaving ---------------------------------------------------------

    async def join(self, group: str, channel: str, metadata: Mapping[str, Any]) -> None:
        """Make this process's ``channel`` present in ``group`` and announce it.

        Raises:
            InvalidNameError: ``channel`` is not this process's (only its owner
                can keep it alive).
            InvalidMessageError: the metadata cannot be serialized.
        """
        layer = self.layer
        if not layer.is_local(channel):
            raise InvalidNameError(
                "channel",
                channel,
                "presence is kept alive by the process that owns the channel: call "
                "group_add(..., metadata=...) in the process whose channel this is",
            )
        member = PresenceMember(address=channel, metadata=dict(metadata), joined_at=time.time())
        present = _Present(member, encode_record(layer, member))
        self.present.setdefault(group, {})[channel] = present
        try:
            await self._add(self.state.shards[layer.group_shard(group)], group, [present])
        except LayerUnavailableError:
            layer.counters.deferred_membership_changes += 1  # restored on reconnection
        await announce(layer, group, joins=[member])

    async def _add(self, shard: Shard, group: str, members: Sequence[_Present]) -> None:
        args: list[Any] = [repr(time.time()), _ttl(self.layer)]
        for present in members:
            args += [present.member.address, present.record]
        await shard.run_script("group_add", PRESENCE_ADD, presence_keys(self.layer, group), args)

    def forget(self, group: str, channel: str) -> PresenceMember | None:
        """Stop keeping ``channel`` present in ``group``; return its record if it was."""
        members = self.present.get(group)
        if members is None:
            return None
        present = members.pop(channel, None)
        if not members:
            del self.present[group]
        return None if present is None else present.member

    def watch(self, group: str, channel: str) -> None:
        """Remember that ``channel`` watches ``group`` (its groups get swept)."""
        self.watched.setdefault(group, set()).add(channel)

    def unwatch(self, group: str, channel: str) -> None:
        """Forget a watcher."""
        watchers = self.watched.get(group)
        if watchers is not None:
            watchers.discard(channel)
            if not watchers:
                del self.watched[group]

    # -- the heartbeat -----------------------------------------------------------------

    async def serve(self) -> None:
        """Beat every ``presence_heartbeat_interval`` until cancelled (the state's task)."""
        interval = self.layer.options.presence_heartbeat_interval
        while True:
            await anyio.sleep(interval)
            await self.beat()

    async def beat(self) -> None:
        """Renew this process's present members and sweep its groups for ghosts, once."""
        alive = self.state.alive
        for group in list(self.watched):
            self.watched[group] = {c for c in self.watched[group] if alive(c)}
            if not self.watched[group]:
                del self.watched[group]
        for group in set(self.present) | set(self.watched):
            try:
                await self._beat_group(group)
            except LayerUnavailableError:
                continue  # the reconnect restores what this process keeps

    async def _beat_group(self, group: str) -> None:
        layer = self.layer
        members = self.present.get(group, {})
        ended = [channel for channel in members if not self.state.alive(channel)]
        for channel in ended:
            member = self.forget(group, channel)
            await discard(layer, group, channel)
            if member is not None:
                await announce(layer, group, leaves=[member])
        members = self.present.get(group, {})
        now = time.time()
        options = layer.options
        args = [repr(now), repr(now - options.presence_timeout), _ttl(layer), *members]
        shard = self.state.shards[layer.group_shard(group)]
        stale, dropped, pruned = await shard.run_script(
            "presence heartbeat", PRESENCE_BEAT, presence_keys(layer, group), args
        )
        for channel in map(_text, dropped):  # someone discarded it: it is no longer ours to keep
            self.forget(group, channel)
        back = [members[c] for c in map(_text, stale) if c in members]
        if back:
            logger.warning(
                "Group %r: %d member(s) of this process had been removed for missing "
                "heartbeats (was this process stalled for over %g s?); putting them back.",
                group,
                len(back),
                options.presence_timeout,
            )
            await self._add(shard, group, back)
            await announce(layer, group, joins=[present.member for present in back])
        await announce_ghosts(layer, group, pruned)

    # -- reconnecting and stopping -----------------------------------------------------

    async def restore(self, shard: Shard) -> None:
        """Re-add every present member on ``shard`` after a reconnection (idempotent)."""
        for group, members in list(self.present.items()):
            if members and self.layer.group_shard(group) == shard.index:
                await self._add(shard, group, list(members.values()))

    async def release_all(self) -> None:
        """Remove and announce every member this process still keeps (the layer is stopping)."""
        for group, members in list(self.present.items()):
            for channel in list(members):
                member = self.forget(group, channel)
                try:
                    await discard(self.layer, group, channel)
                except LayerUnavailableError:
                    continue  # its heartbeat stops: others remove it after presence_timeout
                if member is not None:
                    await announce(self.layer, group, leaves=[member])
