"""RedisChannelLayer: Channels' layer API over Redis, wire-compatible with channels_redis 4.3.

Keys, envelopes and scripts are channels_redis' (``_redis_scripts``,
``_redis_envelope``), so a callboard process and a Channels process can share
one Redis. What differs is inside the process: one inbox per process read
by one reader and demultiplexed into mailboxes, sends to this process's own
channels put straight into their mailboxes, group fan-out in one script per
shard, and every undelivered message counted.

Not here: the per-loop state (``_redis_state``, ``_redis_inbox``), queues and
general channels (``_redis_general``), the pub/sub variant (``_redis_pubsub``).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from anyio.lowlevel import cancel_shielded_checkpoint, checkpoint_if_cancelled

from callboard.actors import (
    Overflowed,
    PresenceMember,
    Registry,
    current_registry,
    new_address,
    non_local_name,
    presence_events_group,
    require_valid_channel_name,
    require_valid_group_name,
    runs_at_home,
)
from callboard.exceptions import ChannelFull, InvalidNameError, LayerUnavailableError

from . import _redis_presence as presence
from ._inmemory import check_metadata
from ._redis_fanout import count_lost_group_send, fan_out
from ._redis_general import receive_general, send_to_queue
from ._redis_inbox import CoreLoopState
from ._redis_layer import RedisLayerBase, check_message
from ._redis_scripts import GROUP_MEMBERS
from ._redis_state import LoopState, current_state

__all__ = ["RedisChannelLayer"]

logger = logging.getLogger("callboard.layers.redis")

_NO_MAILBOX = (
    "no mailbox in this process has that name: no running actor has this address and "
    "new_channel() did not make it. Receive on a name from new_channel() or a running "
    "actor's address"
)


class RedisChannelLayer(RedisLayerBase):
    """Channels' Redis layer on coredis (Trio or asyncio), wire-compatible with channels_redis.

    Configure it as channels_redis (``BACKEND``
    ``"channels_redis.core.RedisChannelLayer"`` is translated to this class).
    Receiving needs the layer running in the event loop: under
    ``callboard serve`` the server's supervisor runs it, elsewhere use
    ``async with layer.open():``. Sending works without that (each call then
    opens a short-lived connection).

    What is not delivered is counted in :meth:`statistics` and logged, never
    dropped silently. See ``docs/redis.md`` for the semantics.

    Args: as :class:`~callboard.layers._redis_layer.RedisLayerBase`.
    """

    extensions: ClassVar[list[str]] = ["groups", "flush", "presence"]

    def make_state(self, registry: Registry) -> LoopState:
        """Build the per-loop state: inbox readers and acknowledgements."""
        return CoreLoopState(layer=self, registry=registry)

    # -- channels ----------------------------------------------------------------

    @runs_at_home
    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """Send ``message`` to ``channel``; it expires after ``expiry`` seconds unread.

        A channel of this process is put straight into its mailbox; any other
        goes into its queue in Redis.

        Raises:
            InvalidNameError: ``channel`` breaks the naming rules.
            InvalidMessageError: not a dict, has ``__asgi_channel__``, or a value
                msgpack cannot encode.
            ChannelFull: the queue (or a local ``reject``-policy mailbox) is full.
            LayerUnavailableError: Redis is unreachable, refused us, or did not
                answer within ``send_timeout`` (counted as ``failed_sends``).
        """
        require_valid_channel_name(channel)
        check_message(message)
        await checkpoint_if_cancelled()
        self.counters.sends += 1
        if not self.is_local(channel):
            await send_to_queue(self, channel, message)
            return
        state = current_state(self)
        registry = state.registry if state is not None else current_registry()
        mailbox = state.owned_mailbox(channel) if state is not None else registry.lookup(channel)
        if mailbox is None or mailbox.closed:
            self.counters.no_receiver += 1
            registry.send_nowait(channel, message)  # counted and logged there too
        else:
            try:
                queued = registry.send_nowait(channel, message, deadline=self.local_deadline())
            except ChannelFull:
                self.counters.rejected += 1
                raise
            if queued:
                self.counters.local_deliveries += 1
            else:
                self.counters.dropped += 1
        await cancel_shielded_checkpoint()

    @runs_at_home
    async def receive(self, channel: str) -> dict[str, Any]:
        """Wait for the next message on ``channel`` and return it.

        Args:
            channel: a general name (each message goes to one receiver, in any
                process), or a full name of this process (from
                :meth:`new_channel`, or a running actor's address).

        Raises:
            InvalidNameError: a bad name, another process's channel, this
                process's bare inbox (``specific.<process>!``), or a local name
                with no mailbox.
            LayerNotOpenError: the layer does not run in this loop.
            ChannelFull: an actor's ``disconnect``-policy mailbox overflowed.
            anyio.EndOfStream: the actor whose address this is stopped.

        Cancellation: nothing is lost; a message taken from Redis is put back.
        """
        require_valid_channel_name(channel)
        if "!" not in channel:
            state = await self.require_state("receive")
            return await receive_general(state, channel, _acks(state))
        if not self.is_local(channel):
            raise InvalidNameError(
                "channel",
                channel,
                "it belongs to another process: only the process named before its '!' "
                "can receive it",
            )
        if channel.endswith("!"):
            raise InvalidNameError(
                "channel",
                channel,
                "it is this process's inbox, which the layer itself reads and hands out to "
                "mailboxes; receive on a full name from new_channel() instead",
            )
        state = await self.require_state("receive")
        state.watch_inbox(non_local_name(channel))
        mailbox = state.owned_mailbox(channel)
        if mailbox is None:
            raise InvalidNameError("channel", channel, _NO_MAILBOX)
        item = await mailbox.receive()
        if type(item) is not dict and isinstance(item, Overflowed):
            raise ChannelFull(channel, item.capacity)
        message: dict[str, Any] = item
        return message

    @runs_at_home
    async def new_channel(self, prefix: str = "specific.") -> str:
        """Return a fresh name of this process with a mailbox behind it, for :meth:`receive`.

        Raises:
            InvalidNameError: ``prefix`` makes an invalid name.
            LayerNotOpenError: the layer does not run in this loop.
        """
        if not isinstance(prefix, str):
            raise InvalidNameError(
                "channel",
                prefix,
                f"the new_channel() prefix must be a str, not {type(prefix).__name__}",
            )
        state = await self.require_state("new_channel")
        address = new_address(prefix)
        state.issued.add(address)
        state.owned_mailbox(address)
        state.watch_inbox(non_local_name(address))
        return address

    # -- groups ------------------------------------------------------------------

    @runs_at_home
    async def group_add(
        self, group: str, channel: str, *, metadata: Mapping[str, Any] | None = None
    ) -> None:
        """Add ``channel`` to ``group``, or renew it for ``group_expiry`` seconds.

        A channel of this process is remembered: re-added after Redis comes
        back, renewed while its actor lives, removed once it has ended.

        Args:
            group: a valid group name.
            channel: a valid channel name.
            metadata: callboard's presence extension: with it (``{}`` for
                nothing to say) the member is present (:meth:`presence`), kept
                alive by this process's heartbeat, and the group's watchers
                hear of its joining and of its leaving. Only for a channel of
                this process.

        Raises:
            InvalidNameError: either name breaks the naming rules, or
                ``metadata`` is given for another process's channel.
            TypeError: ``metadata`` is not a mapping with str keys.
            InvalidMessageError: ``metadata`` cannot be serialized.
            LayerNotOpenError: ``channel`` is this process's and the layer does
                not run in this loop (nothing would read its messages).
            LayerUnavailableError: Redis is unavailable and the layer does not
                run here (when it does, the change is applied on reconnection).
        """
        require_valid_group_name(group)
        require_valid_channel_name(channel)
        check_metadata(metadata)
        await checkpoint_if_cancelled()
        state: LoopState | None = None
        if self.is_local(channel):
            state = await self.require_state("group_add")
            state.record_membership(group, channel)
            state.watch_inbox(non_local_name(channel))
        if metadata is not None:
            if state is None:
                raise InvalidNameError(
                    "channel",
                    channel,
                    "presence is kept alive by the process that owns the channel: add it "
                    "with metadata in the process whose channel this is",
                )
            await _core(state).presence.join(group, channel, metadata)
            return
        if state is not None and _core(state).presence.forget(group, channel) is not None:
            await presence.end(self, group, channel)  # re-joined without metadata
        try:
            await self.on_shard(
                self.group_shard(group),
                "group_add",
                lambda shard: self.add_members(shard, group, [channel]),
            )
        except LayerUnavailableError:
            if state is None:
                raise
            self.counters.deferred_membership_changes += 1  # restored on reconnection

    @runs_at_home
    async def group_discard(self, group: str, channel: str) -> None:
        """Remove ``channel`` from ``group``; nothing happens if it is not a member.

        A present member's leaving is announced to the group's watchers.

        Raises:
            InvalidNameError: either name breaks the naming rules.
            LayerUnavailableError: as :meth:`group_add`.
        """
        require_valid_group_name(group)
        require_valid_channel_name(channel)
        await checkpoint_if_cancelled()
        state = current_state(self) if self.is_local(channel) else None
        kept: PresenceMember | None = None
        if state is not None:
            state.forget_membership(group, channel)
            kept = _core(state).presence.forget(group, channel)
        try:
            stored = await presence.discard(self, group, channel)
        except LayerUnavailableError:
            if state is None:
                raise
            state.pending_discards.add((group, channel))
            self.counters.deferred_membership_changes += 1
            stored = None  # its heartbeat stops: others announce it after presence_timeout
        left = stored if stored is not None else kept
        if left is not None:
            await presence.announce(self, group, leaves=[left])

    @runs_at_home
    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every member of ``group``: one queue entry per receiving process.

        Members in this process get it straight into their mailboxes; every
        other process's inbox (and every general channel in the group) gets
        one envelope naming its members, written by one script per shard.

        Never raises :class:`~callboard.exceptions.ChannelFull`: a full queue
        is counted (``over_capacity``) and logged. With the layer running in
        this loop it does not raise for an unavailable Redis either (counted
        as ``lost_group_sends``): a consumer must not fail because Redis restarted.

        Raises:
            InvalidNameError: ``group`` breaks the naming rules.
            InvalidMessageError: as :meth:`send`.
            LayerUnavailableError: Redis is unavailable and the layer does not run here.
        """
        check_message(message)
        require_valid_group_name(group)
        await checkpoint_if_cancelled()
        counters = self.counters
        counters.group_sends += 1
        state = current_state(self)
        cutoff = repr(time.time() - self.config.group_expiry)
        key = self.group_key(group)
        try:
            result = await self.on_shard(
                self.group_shard(group),
                "group_send",
                lambda shard: shard.run_script("group_send", GROUP_MEMBERS, [key], [cutoff]),
            )
        except LayerUnavailableError as exc:
            count_lost_group_send(self, state, group, exc)
            return
        members = [m.decode() if isinstance(m, bytes) else str(m) for m in result[1]]
        remote: dict[str, list[str]] = {}
        local: list[str] = []
        for member in members:
            if self.is_local(member):
                local.append(member)
            else:
                remote.setdefault(self.queue_key(member), []).append(member)
        if local:
            deadline = self.local_deadline()
            for member in local:
                self.deliver_local(member, message, deadline)
        if remote:
            await fan_out(self, state, group, message, remote)
        await cancel_shielded_checkpoint()

    # -- presence ----------------------------------------------------------------

    @runs_at_home
    async def presence(self, group: str) -> list[PresenceMember]:
        """Return the members present in ``group``, across processes, in join order.

        A member whose process stopped renewing it ``presence_timeout`` ago is
        not listed: this call removes it and announces its leaving.

        Raises:
            InvalidNameError: ``group`` breaks the naming rules.
            LayerUnavailableError: Redis is unavailable.
        """
        require_valid_group_name(group)
        await checkpoint_if_cancelled()
        return await presence.presence_list(self, group)

    @runs_at_home
    async def group_size(self, group: str) -> int:
        """Return how many members ``group`` has, across processes (one round trip).

        Lapsed memberships and timed-out present members are removed first.

        Raises:
            InvalidNameError: ``group`` breaks the naming rules.
            LayerUnavailableError: Redis is unavailable.
        """
        require_valid_group_name(group)
        await checkpoint_if_cancelled()
        return await presence.group_size(self, group)

    @runs_at_home
    async def presence_watch(self, group: str, channel: str) -> None:
        """Send ``group``'s joins and leaves to ``channel`` as ``callboard.presence`` messages.

        ``channel`` joins the companion group
        (:func:`~callboard.actors.presence_events_group`); while it watches,
        this process also sweeps ``group`` for members of dead processes.

        Raises:
            InvalidNameError: either name breaks the naming rules.
            LayerNotOpenError, LayerUnavailableError: as :meth:`group_add`.
        """
        require_valid_group_name(group)
        await self.group_add(presence_events_group(group), channel)
        state = current_state(self) if self.is_local(channel) else None
        if state is not None:
            _core(state).presence.watch(group, channel)

    @runs_at_home
    async def presence_unwatch(self, group: str, channel: str) -> None:
        """Stop sending ``group``'s joins and leaves to ``channel``.

        Raises:
            InvalidNameError: either name breaks the naming rules.
            LayerUnavailableError: as :meth:`group_discard`.
        """
        require_valid_group_name(group)
        state = current_state(self) if self.is_local(channel) else None
        if state is not None:
            _core(state).presence.unwatch(group, channel)
        await self.group_discard(presence_events_group(group), channel)

    # -- lifetime ----------------------------------------------------------------

    @runs_at_home
    async def flush(self) -> None:
        """Delete every key under the prefix on every shard (queues, groups), and local state.

        Raises:
            LayerUnavailableError: a shard is unavailable.
        """
        await checkpoint_if_cancelled()
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self.options.prefix) + "*"
        for index in range(len(self.options.hosts)):
            await self.on_shard(index, "flush", lambda shard: shard.scan_delete("flush", pattern))
        state = current_state(self)
        if state is not None:
            state.memberships.clear()
            state.pending_discards.clear()
            _core(state).presence.present.clear()
            _core(state).presence.watched.clear()
            for mailbox in state.owned.values():
                mailbox.clear()
        await cancel_shielded_checkpoint()


def _core(state: LoopState) -> CoreLoopState:
    assert isinstance(state, CoreLoopState), "RedisChannelLayer runs a CoreLoopState"
    return state


def _acks(state: LoopState) -> Any:
    return _core(state).acks
