"""RedisLayerBase: what both Redis layers share — configuration, keys, ownership, local delivery.

Configuration takes channels_redis' options (``hosts``, ``prefix``,
``expiry``, ``group_expiry``, ``capacity``, ``channel_capacity``,
``symmetric_encryption_keys``) plus callboard's timeouts. A message for a
channel of this process is put straight into its mailbox (one isolation
copy, the mailbox's policy applies); everything else goes through Redis.

Not here: the per-loop state and its owner (``_redis_state``), each layer's
API (``_redis_core``, ``_redis_pubsub``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import anyio
from anyio.abc import TaskGroup

from callboard.actors import Registry, current_registry, non_local_name
from callboard.exceptions import ChannelFull, InvalidMessageError

from ._base import BaseChannelLayer
from ._config import ChannelCapacity
from ._redis_config import RedisOptions
from ._redis_envelope import ROUTING_KEY, Envelopes
from ._redis_general import key_ttl
from ._redis_hosts import consistent_hash, parse_hosts, require_coredis
from ._redis_scripts import GROUP_ADD
from ._redis_shard import Shard, log_rate_limited, open_shard
from ._redis_state import LoopState, current_state, is_local, open_state, require_state
from ._redis_stats import RedisCounters, RedisLayerStatistics

__all__ = ["RedisLayerBase", "check_message"]

logger = logging.getLogger("callboard.layers.redis")

T = TypeVar("T")


def check_message(message: object) -> None:
    """Refuse what is not a message dict, or that carries the reserved routing key.

    Raises:
        InvalidMessageError: naming the problem.
    """
    if not isinstance(message, dict):
        raise InvalidMessageError(
            message,
            f"a channel-layer message must be a dict, not {type(message).__name__}, "
            "like {'type': 'chat.message', 'text': 'hi'}",
        )
    if ROUTING_KEY in message:
        raise InvalidMessageError(
            message, f"the {ROUTING_KEY!r} key is reserved for channel layers; remove it"
        )


class RedisLayerBase(BaseChannelLayer):
    """The configuration, ownership and local delivery both Redis layers share.

    Args:
        hosts: channels_redis' ``hosts``: URL strings, ``(host, port)`` pairs,
            option dicts, Sentinel dicts (``master_name`` + ``sentinels``).
        prefix: before every Redis key and pub/sub channel.
        expiry: seconds a message waits unread before it expires (counted).
        group_expiry: seconds a membership lasts unless renewed; this
            process renews its live members' every ``group_refresh_interval``.
        capacity: how many messages a queue holds (a process inbox, a general channel).
        channel_capacity: per-channel capacities (globs or regexes).
        symmetric_encryption_keys: Fernet keys, as channels_redis derives them.
        serializer_format: channels_redis' ``"msgpack"`` (default) or ``"json"``.
        random_prefix_length: channels_redis' random bytes per stored message (12).
        send_timeout: the longest any one Redis operation may take.
        connect_timeout: the longest connecting (and authenticating) may take.
        block_timeout: how long one blocking pop waits before it is re-issued.
        reconnect_interval: the first wait before reconnecting; it doubles
            (with jitter) up to ``reconnect_max_interval``.
        reconnect_max_interval: the longest wait between reconnect attempts.
        group_refresh_interval: how often live memberships are renewed;
            ``None`` for a quarter of ``group_expiry``.
        inflight_timeout: a general-channel message popped and not finished
            this long ago belongs to a dead reader and is queued again.
        inbox_batch: messages the inbox reader takes per round trip.
        presence_heartbeat_interval: how often this process renews its present
            members and sweeps its groups for ghosts (``RedisChannelLayer``).
        presence_timeout: a present member not renewed this long is gone.
        **kwargs: none are valid; an unknown option is an error listing the valid ones.

    Raises:
        InvalidChannelLayerError: an unknown option (listing the valid ones), a
            bad value, Redis Cluster, or the ``redis`` extra not installed.
    """

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
        serializer_format: str = "msgpack",
        random_prefix_length: int = 12,
        send_timeout: float = 5.0,
        connect_timeout: float = 5.0,
        block_timeout: float = 5.0,
        reconnect_interval: float = 0.1,
        reconnect_max_interval: float = 5.0,
        group_refresh_interval: float | None = None,
        inflight_timeout: float = 30.0,
        inbox_batch: int = 100,
        presence_heartbeat_interval: float = 5.0,
        presence_timeout: float = 15.0,
        **kwargs: object,
    ) -> None:
        super().__init__(
            expiry=expiry,
            capacity=capacity,
            channel_capacity=channel_capacity,
            group_expiry=group_expiry,
            **kwargs,
        )
        require_coredis()
        self.options = RedisOptions(
            hosts=parse_hosts(hosts),
            prefix=prefix,
            symmetric_encryption_keys=symmetric_encryption_keys,
            serializer_format=serializer_format,
            random_prefix_length=random_prefix_length,
            send_timeout=send_timeout,
            connect_timeout=connect_timeout,
            block_timeout=block_timeout,
            reconnect_interval=reconnect_interval,
            reconnect_max_interval=reconnect_max_interval,
            group_refresh_interval=group_refresh_interval,
            inflight_timeout=inflight_timeout,
            inbox_batch=inbox_batch,
            presence_heartbeat_interval=presence_heartbeat_interval,
            presence_timeout=presence_timeout,
        )
        self.envelopes = Envelopes(
            serializer_format=self.options.serializer_format,
            random_prefix_length=self.options.random_prefix_length,
            symmetric_encryption_keys=self.options.symmetric_encryption_keys,
            expiry=self.config.expiry,
        )
        self.counters = RedisCounters()
        self.state_key = f"callboard.layers.redis:{id(self):x}"
        self._last_score = 0.0

    # -- configuration -------------------------------------------------------------

    @property
    def hosts(self) -> tuple[Any, ...]:
        """The shards, as parsed from ``hosts``."""
        return self.options.hosts

    @property
    def prefix(self) -> str:
        """Before every Redis key and pub/sub channel."""
        return self.options.prefix

    @property
    def ring_size(self) -> int:
        """How many shards (channels_redis' name)."""
        return len(self.options.hosts)

    def consistent_hash(self, value: str) -> int:
        """Return the shard for ``value`` (channels_redis' hash)."""
        return consistent_hash(value, len(self.options.hosts))

    def group_key(self, group: str) -> str:
        """The Redis key of a group's members (channels_redis': ``{prefix}:group:{group}``)."""
        return f"{self.options.prefix}:group:{group}"

    def group_shard(self, group: str) -> int:
        """The shard that holds ``group``."""
        return self.consistent_hash(group)

    def queue_key(self, channel: str) -> str:
        """The Redis key of the queue ``channel`` is read from (``{prefix}{non-local name}``)."""
        return self.options.prefix + non_local_name(channel)

    def queue_shard(self, channel: str) -> int:
        """The shard of ``channel``'s queue: the hash of its non-local name.

        channels_redis hashes the full name on send and the non-local name on
        receive (its issue #221), so with several hosts half its direct sends
        land where nobody reads; this layer hashes the non-local name both ways.
        """
        return self.consistent_hash(non_local_name(channel))

    def next_score(self) -> float:
        """Return the send time to score a message with: Unix time, strictly increasing here.

        Two messages from this process never share a score, so a receiver
        pops them in the order they were sent.
        """
        now = time.time()
        if now <= self._last_score:
            now = math.nextafter(self._last_score, math.inf)
        self._last_score = now
        return now

    async def add_members(self, shard: Shard, group: str, channels: Sequence[str]) -> int:
        """Add (or renew) ``channels`` in ``group`` on ``shard``; return how many."""
        args = [key_ttl(self.config.group_expiry), repr(time.time()), *channels]
        added = await shard.run_script("group_add", GROUP_ADD, [self.group_key(group)], args)
        return int(added)

    # -- ownership -------------------------------------------------------------------

    def make_state(self, registry: Registry) -> LoopState:
        """Build this layer's per-loop state (subclasses return their own kind)."""
        return LoopState(layer=self, registry=registry)

    @asynccontextmanager
    async def open(self) -> AsyncIterator[RedisLayerBase]:
        """Run the layer in this event loop for the ``async with`` block.

        Connects every shard (failing at once, naming the host, on a wrong
        address or password), then runs the readers, reconnect loops and
        membership refresh in a task group the block owns.

        Returns:
            An async context manager yielding the layer.

        Raises:
            LayerUnavailableError: a shard could not be reached at start-up.
            InvalidChannelLayerError: the layer is already open in this loop,
                or in another loop of this process.

        Lifetime: leaving the block stops the readers, removes this loop's
        remaining memberships from Redis and closes the connections.
        """
        async with open_state(self):
            yield self

    async def start(self, task_group: TaskGroup) -> None:
        """Run the layer in this event loop, owned by ``task_group``; return once it runs.

        Raises:
            LayerUnavailableError: as :meth:`open`.

        Lifetime: yours: it runs until ``task_group`` is cancelled or :meth:`close` is called.
        """
        state = self.make_state(current_registry())
        await task_group.start(state.run)

    async def close(self) -> None:
        """Stop the layer's state in this event loop, if it runs here (Channels' method).

        Returns at once; the owner's ``async with`` (or task group) finishes
        the stop. Safe to call repeatedly.
        """
        state = current_state(self)
        if state is not None:
            state.request_stop()
        await anyio.lowlevel.checkpoint()

    # -- reaching shards ---------------------------------------------------------------

    async def on_shard(
        self, index: int, operation: str, action: Callable[[Shard], Awaitable[T]]
    ) -> T:
        """Run ``action`` on shard ``index``: the running state's, else a short-lived connection.

        Raises:
            LayerUnavailableError: the shard is unavailable, naming it.
        """
        state = current_state(self)
        if state is not None:
            return await action(state.shards[index])
        hosts = self.options.hosts
        async with open_shard(hosts[index], self.options, self.counters.round_trips) as shard:
            return await action(shard)

    async def require_state(self, operation: str) -> LoopState:
        """Return the running state, starting it under the root supervisor if there is one.

        Raises:
            LayerNotOpenError: no owner; the message says how to provide one.
        """
        return await require_state(self, operation)

    # -- local delivery ----------------------------------------------------------------

    def deliver_local(
        self, channel: str, message: dict[str, Any], deadline: float, *, copy: bool = True
    ) -> bool:
        """Put ``message`` into the mailbox of this process's ``channel``; count what fails.

        Returns:
            Whether it was queued.
        """
        counters = self.counters
        state = current_state(self)
        registry = state.registry if state is not None else current_registry()
        mailbox = state.owned_mailbox(channel) if state is not None else registry.lookup(channel)
        if mailbox is None or mailbox.closed:
            counters.no_receiver += 1
            registry.send_nowait(channel, message)  # counted and logged there too
            return False
        try:
            if copy:
                queued = registry.send_nowait(channel, message, deadline=deadline)
            else:
                queued = mailbox.send_nowait(message, deadline=deadline)
        except ChannelFull:
            queued = False
        if queued:
            counters.local_deliveries += 1
        else:
            counters.dropped += 1
        return queued

    def local_deadline(self, score: float | None = None) -> float:
        """The loop-clock deadline of a message sent at Unix time ``score`` (now if ``None``)."""
        expiry = self.config.expiry
        if score is None:
            return anyio.current_time() + expiry
        return anyio.current_time() + (score + expiry - time.time())

    def is_local(self, channel: str) -> bool:
        """Whether ``channel`` belongs to this process."""
        return is_local(channel)

    # -- statistics ----------------------------------------------------------------------

    def statistics(self) -> RedisLayerStatistics:
        """Return a snapshot of the layer's counters and its state in this event loop."""
        state = current_state(self)
        return self.counters.snapshot(
            open=state is not None,
            connected=state is not None and all(s.healthy for s in state.shards),
            shards=len(self.options.hosts),
            memberships=0 if state is None else sum(len(m) for m in state.memberships.values()),
            present=0 if state is None else state.present_count(),
            inbox_keys=0 if state is None else state.inbox_count(),
        )

    def count_lost(self, what: str, key: str, *args: object) -> None:
        """Log a loss at a bounded rate (the caller has counted it)."""
        log_rate_limited(logging.WARNING, key, what, *args)

    def __repr__(self) -> str:
        hosts = ", ".join(h.label for h in self.options.hosts)
        return f"{type(self).__name__}(hosts=[{hosts}], prefix={self.options.prefix!r})"
