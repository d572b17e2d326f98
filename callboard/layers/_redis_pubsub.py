"""RedisPubSubChannelLayer: group fan-out by Redis pub/sub, at most once, for the lowest latency.

Each process subscribes once for its own channels (``{prefix}specific.<process>!``)
and once per group it has members in (``{prefix}__group__{group}``);
messages go out with ``PUBLISH`` and are demultiplexed into mailboxes through
the registry, whose groups hold the members. Nothing is stored: a process
that is not subscribed at the moment of publishing (disconnected, restarting)
never gets the message. That is the at-most-once contract; publishing into
the void is counted (``no_subscriber``).

General channels (workers) are not broadcast: they are queues, as in
:class:`~callboard.layers.RedisChannelLayer`, so each message reaches one
worker (channels_redis' pub/sub layer sends it to every worker, its issue
#299). Disconnections and reconnections are reported through
``on_disconnect`` / ``on_reconnect`` (channels_redis accepts them and never
calls them, its issue #406).

Not here: the queue-based layer (``_redis_core``).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any, ClassVar

import anyio
import attrs
from anyio.abc import TaskGroup, TaskStatus
from anyio.lowlevel import cancel_shielded_checkpoint, checkpoint_if_cancelled

from callboard.actors import (
    Overflowed,
    Registry,
    new_address,
    non_local_name,
    process_name,
    require_valid_channel_name,
    require_valid_group_name,
    runs_at_home,
)
from callboard.exceptions import ChannelFull, InvalidNameError, LayerUnavailableError

from ._config import ChannelCapacity
from ._redis_envelope import EnvelopeError, split_routing
from ._redis_general import Acks, receive_general, send_to_queue
from ._redis_layer import RedisLayerBase, check_message
from ._redis_shard import Shard, describe_failure, log_rate_limited, unwrap_group
from ._redis_state import LoopState, current_state

__all__ = ["RedisPubSubChannelLayer"]

logger = logging.getLogger("callboard.layers.redis")

Callback = Callable[[], Any]


@attrs.define(eq=False)
class Subscriber:
    """The subscription connection of one shard (a task of the state)."""

    state: PubSubLoopState
    shard: Shard
    channels: dict[str, None] = attrs.field(factory=dict)
    needs_report: bool = False
    _started: bool = False
    _connection: Any = None
    _scope: anyio.CancelScope | None = None
    _acks: dict[bytes, anyio.Event] = attrs.field(factory=dict)

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Subscribe, deliver, and resubscribe after every reconnection."""
        while True:
            if not self.shard.healthy:
                await self.state.wait_up(self.shard)
            with anyio.CancelScope() as self._scope:
                try:
                    await self._session(task_status)
                except Exception as exc:
                    failure = unwrap_group(exc)
                    if isinstance(failure, LayerUnavailableError):
                        self.shard.mark_down(failure)
                    else:
                        self.shard.mark_down(
                            describe_failure(
                                self.shard.host,
                                "subscribe",
                                failure,
                                self.shard.options.send_timeout,
                            )
                        )
            self._scope = None

    async def _session(self, task_status: TaskStatus[None]) -> None:
        pool = self.shard.client.connection_pool
        with anyio.fail_after(self.shard.options.connect_timeout):
            connection = await pool.get_connection()
        try:
            self._connection = connection
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(self._read, connection)
                if self.channels:
                    await self._subscribe_now(list(self.channels))
                if not self._started:
                    self._started = True
                    task_status.started()
                if self.needs_report:
                    self.needs_report = False
                    self.state.call_back(self.state.layer_on_reconnect)
        finally:
            self._connection = None
            connection.invalidate()
            pool.release(connection)

    async def _read(self, connection: Any) -> None:
        async for push in connection.push_messages:
            kind = bytes(push[0])
            if kind == b"message":
                self.state.deliver(bytes(push[1]), bytes(push[2]))
            elif kind == b"subscribe":
                event = self._acks.pop(bytes(push[1]), None)
                if event is not None:
                    event.set()

    async def _subscribe_now(self, channels: list[str]) -> None:
        connection = self._connection
        if connection is None:
            return  # subscribed on (re)connection
        events = [self._acks.setdefault(name.encode(), anyio.Event()) for name in channels]
        connection.send_command(b"SUBSCRIBE", *channels)
        with anyio.fail_after(self.shard.options.send_timeout):
            for event in events:
                await event.wait()

    async def subscribe(self, channel: str) -> None:
        """Subscribe to ``channel`` (now if connected, else on reconnection)."""
        if channel in self.channels:
            return
        self.channels[channel] = None
        try:
            await self._subscribe_now([channel])
        except TimeoutError as exc:
            error = describe_failure(
                self.shard.host, "subscribe", exc, self.shard.options.send_timeout
            )
            self.shard.mark_down(error)

    def unsubscribe(self, channel: str) -> None:
        """Stop receiving ``channel``."""
        if channel not in self.channels:
            return
        del self.channels[channel]
        connection = self._connection
        if connection is not None:
            try:
                connection.send_command(b"UNSUBSCRIBE", channel)
            except Exception:  # the connection is going; the new one will not subscribe it
                logger.debug("UNSUBSCRIBE %r failed", channel, exc_info=True)

    def interrupt(self) -> None:
        """End the current session (the shard went down); it resubscribes once it is back."""
        self.needs_report = True
        if self._scope is not None:
            self._scope.cancel()


@attrs.define(eq=False)
class PubSubLoopState(LoopState):
    """The per-loop state of :class:`RedisPubSubChannelLayer`: subscribers and queue acks."""

    kind: ClassVar[str] = "redis-pubsub"

    acks: Acks = attrs.field(factory=Acks, init=False)
    _subscribers: list[Subscriber] = attrs.field(factory=list, init=False)
    layer_on_reconnect: Callback | None = attrs.field(default=None, init=False)

    async def _start_readers(self, task_group: TaskGroup) -> None:
        layer = self.layer
        assert isinstance(layer, RedisPubSubChannelLayer)
        self.layer_on_reconnect = layer.on_reconnect
        for shard in self.shards:
            subscriber = Subscriber(self, shard)
            self._subscribers.append(subscriber)
        await self.subscribe(layer.inbox_channel(f"specific.{process_name()}!"))
        for subscriber in self._subscribers:
            await task_group.start(subscriber.serve)
        task_group.start_soon(self.acks.serve, self)

    def _subscriber(self, channel: str) -> Subscriber:
        return self._subscribers[self.layer.consistent_hash(channel)]

    async def subscribe(self, channel: str) -> None:
        """Subscribe to a pub/sub channel on its shard."""
        await self._subscriber(channel).subscribe(channel)

    def unsubscribe(self, channel: str) -> None:
        """Unsubscribe from a pub/sub channel."""
        self._subscriber(channel).unsubscribe(channel)

    def _shard_down(self, shard: Shard) -> None:
        super()._shard_down(shard)
        layer = self.layer
        assert isinstance(layer, RedisPubSubChannelLayer)
        self.call_back(layer.on_disconnect)
        for subscriber in self._subscribers:
            if subscriber.shard is shard:
                subscriber.interrupt()

    def call_back(self, callback: Callback | None) -> None:
        """Call ``on_disconnect`` / ``on_reconnect`` (sync, or async in the state's tasks)."""
        if callback is None:
            return
        try:
            result = callback()
            if inspect.isawaitable(result) and self._task_group is not None:

                async def wait() -> None:
                    await result

                self._task_group.start_soon(wait)
        except Exception:
            logger.exception("A channel-layer connection callback raised.")

    async def _stop_readers(self) -> None:
        with anyio.move_on_after(self.layer.options.send_timeout):
            await self.acks.flush(self)

    async def _restore(self, shard: Shard, restarted: bool) -> None:
        """Subscriptions are the subscriber's to redo; memberships are local."""

    async def refresh(self) -> None:
        """Nothing to renew: memberships live in this process's registry."""

    async def _release_memberships(self) -> None:
        """Nothing to remove: memberships live in this process's registry."""

    def watch_inbox(self, inbox: str) -> None:
        """Subscribe to the channel of ``inbox`` too (another prefix of this process)."""
        layer = self.layer
        assert isinstance(layer, RedisPubSubChannelLayer)
        channel = layer.inbox_channel(inbox)
        subscriber = self._subscriber(channel)
        if channel not in subscriber.channels and self._task_group is not None:
            self._task_group.start_soon(subscriber.subscribe, channel)

    def inbox_count(self) -> int:
        """How many pub/sub channels this loop is subscribed to."""
        return sum(len(s.channels) for s in self._subscribers)

    def deliver(self, channel: bytes, envelope: bytes) -> None:
        """Hand a published message to this process's mailboxes (synchronous)."""
        layer = self.layer
        counters = layer.counters
        try:
            message = layer.envelopes.decode(envelope)
        except EnvelopeError as exc:
            counters.undecodable += 1
            log_rate_limited(
                logging.WARNING,
                f"undecodable:{channel!r}",
                "Dropped a published message that could not be opened: %s.",
                exc,
            )
            return
        deadline = layer.local_deadline()
        names = split_routing(message)
        if names:
            last = len(names) - 1
            for position, name in enumerate(names):
                layer.deliver_local(name, message, deadline, copy=position != last)
            return
        assert isinstance(layer, RedisPubSubChannelLayer)
        group = channel.decode()[len(layer.group_channel("")) :]
        for member in self.registry.members(group):
            layer.deliver_local(member.address, message, deadline)


class RedisPubSubChannelLayer(RedisLayerBase):
    """Channels' layer API over Redis pub/sub: lowest fan-out latency, at-most-once delivery.

    Configure it as channels_redis' pub/sub layer (``BACKEND``
    ``"channels_redis.pubsub.RedisPubSubChannelLayer"`` is translated to this
    class). A message published while a process is disconnected is lost for
    that process; general channels stay queues with one reader per message.

    Args:
        hosts, prefix, expiry, group_expiry, capacity, channel_capacity,
        symmetric_encryption_keys, and the timeouts: as
        :class:`~callboard.layers.RedisChannelLayer`.
        on_disconnect: called (no arguments; sync, or async run by the layer)
            when a shard's connection is lost.
        on_reconnect: called when it is back and every subscription is renewed.
    """

    extensions: ClassVar[list[str]] = ["groups", "flush"]

    def __init__(
        self,
        hosts: object = None,
        prefix: str = "asgi",
        expiry: float = 60,
        group_expiry: float = 86_400,
        capacity: int = 100,
        channel_capacity: ChannelCapacity | None = None,
        symmetric_encryption_keys: object = None,
        *,
        on_disconnect: Callback | None = None,
        on_reconnect: Callback | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            hosts,
            prefix,
            expiry,
            group_expiry,
            capacity,
            channel_capacity,
            symmetric_encryption_keys,
            **kwargs,
        )
        self.on_disconnect = on_disconnect
        self.on_reconnect = on_reconnect

    def make_state(self, registry: Registry) -> LoopState:
        """Build the per-loop state: one subscriber per shard."""
        return PubSubLoopState(layer=self, registry=registry)

    def inbox_channel(self, inbox: str) -> str:
        """The pub/sub channel of a process inbox (``{prefix}{non-local name}``)."""
        return self.options.prefix + inbox

    def group_channel(self, group: str) -> str:
        """The pub/sub channel of a group (channels_redis': ``{prefix}__group__{group}``)."""
        return f"{self.options.prefix}__group__{group}"

    async def _publish(self, channel: str, envelope: bytes, operation: str) -> int:
        async def publish(shard: Shard) -> int:
            return await shard.call(operation, lambda client: client.publish(channel, envelope))

        receivers = await self.on_shard(self.consistent_hash(channel), operation, publish)
        self.counters.published += 1
        if not receivers:
            self.counters.no_subscriber += 1
            self.count_lost(
                "Published to %r with nobody subscribed: the message is gone (at-most-once).",
                f"no_subscriber:{channel}",
                channel,
            )
        return receivers

    @runs_at_home
    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """Send ``message`` to ``channel``: published to its process, or queued for a worker.

        Raises:
            InvalidNameError, InvalidMessageError, ChannelFull: as
                :meth:`RedisChannelLayer.send` (``ChannelFull`` only for general channels).
            LayerUnavailableError: Redis is unavailable (counted as ``failed_sends``).
        """
        require_valid_channel_name(channel)
        check_message(message)
        await checkpoint_if_cancelled()
        self.counters.sends += 1
        if "!" not in channel:
            await send_to_queue(self, channel, message)
            return
        if self.is_local(channel):
            self.deliver_local(channel, message, self.local_deadline())
            await cancel_shielded_checkpoint()
            return
        envelope = self.envelopes.routed(message, channel)
        try:
            await self._publish(self.inbox_channel(non_local_name(channel)), envelope, "send")
        except LayerUnavailableError:
            self.counters.failed_sends += 1
            raise

    @runs_at_home
    async def receive(self, channel: str) -> dict[str, Any]:
        """Wait for the next message on ``channel`` (as :meth:`RedisChannelLayer.receive`)."""
        require_valid_channel_name(channel)
        if "!" not in channel:
            state = await self.require_state("receive")
            assert isinstance(state, PubSubLoopState)
            return await receive_general(state, channel, state.acks)
        if not self.is_local(channel) or channel.endswith("!"):
            raise InvalidNameError(
                "channel", channel, "receive on a full name of this process or a general name"
            )
        state = await self.require_state("receive")
        state.watch_inbox(non_local_name(channel))
        mailbox = state.owned_mailbox(channel)
        if mailbox is None:
            raise InvalidNameError("channel", channel, "no mailbox in this process has that name")
        item = await mailbox.receive()
        if type(item) is not dict and isinstance(item, Overflowed):
            raise ChannelFull(channel, item.capacity)
        message: dict[str, Any] = item
        return message

    @runs_at_home
    async def new_channel(self, prefix: str = "specific.") -> str:
        """Return a fresh name of this process with a mailbox behind it, for :meth:`receive`."""
        if not isinstance(prefix, str):
            raise InvalidNameError("channel", prefix, "the new_channel() prefix must be a str")
        state = await self.require_state("new_channel")
        address = new_address(prefix)
        state.issued.add(address)
        state.owned_mailbox(address)
        state.watch_inbox(non_local_name(address))
        return address

    @runs_at_home
    async def group_add(self, group: str, channel: str) -> None:
        """Add a channel of this process to ``group`` (subscribing this process to it).

        Raises:
            InvalidNameError: a bad name, or a channel of another process (pub/sub
                memberships live in the member's process; channels_redis' rule too).
            LayerNotOpenError: the layer does not run in this loop.
        """
        require_valid_group_name(group)
        require_valid_channel_name(channel)
        if not self.is_local(channel):
            raise InvalidNameError(
                "channel",
                channel,
                "the pub/sub layer only adds channels of this process to groups: call "
                "group_add in the process that owns the channel",
            )
        state = await self.require_state("group_add")
        assert isinstance(state, PubSubLoopState)
        registry = state.registry
        registry.group_expiry = self.config.group_expiry
        registry.group_add(group, channel)
        state.record_membership(group, channel)
        state.owned_mailbox(channel)
        try:
            await state.subscribe(self.group_channel(group))
        except LayerUnavailableError:
            self.counters.deferred_membership_changes += 1

    @runs_at_home
    async def group_discard(self, group: str, channel: str) -> None:
        """Remove ``channel`` from ``group``; unsubscribe once no member is left here."""
        require_valid_group_name(group)
        require_valid_channel_name(channel)
        await checkpoint_if_cancelled()
        state = current_state(self)
        if state is None:
            return
        assert isinstance(state, PubSubLoopState)
        state.registry.group_discard(group, channel)
        state.forget_membership(group, channel)
        if not state.registry.group_size(group):
            state.unsubscribe(self.group_channel(group))
        await cancel_shielded_checkpoint()

    @runs_at_home
    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Publish ``message`` to ``group``: every process with members delivers it to them.

        At most once: a process disconnected at that moment misses it. With
        the layer running here an unavailable Redis is counted
        (``lost_group_sends``), not raised.

        Raises:
            InvalidNameError, InvalidMessageError: as :meth:`RedisChannelLayer.group_send`.
            LayerUnavailableError: Redis is unavailable and the layer does not run here.
        """
        check_message(message)
        require_valid_group_name(group)
        self.counters.group_sends += 1
        try:
            await self._publish(
                self.group_channel(group), self.envelopes.encode(message), "group_send"
            )
        except LayerUnavailableError as exc:
            if current_state(self) is None:
                raise
            self.counters.lost_group_sends += 1
            self.count_lost(
                "A message to group %r was lost: %s (counted as lost_group_sends).",
                f"lost:{group}",
                group,
                exc,
            )

    @runs_at_home
    async def flush(self) -> None:
        """Delete queued worker messages under the prefix; forget local groups."""
        await checkpoint_if_cancelled()
        state = current_state(self)
        if isinstance(state, PubSubLoopState):
            for group, channels in list(state.memberships.items()):
                for channel in channels:
                    state.registry.group_discard(group, channel)
                state.unsubscribe(self.group_channel(group))
            state.memberships.clear()
            for mailbox in state.owned.values():
                mailbox.clear()
        for index in range(len(self.options.hosts)):
            await self.on_shard(
                index, "flush", lambda shard: shard.scan_delete("flush", self.options.prefix + "*")
            )
        await cancel_shielded_checkpoint()
