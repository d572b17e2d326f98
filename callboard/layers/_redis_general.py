"""Queues in Redis: sending into a channel's queue, and general channels' single-reader receive.

A general channel (no ``!``, what ``runworker`` reads) is a queue: each
message goes to exactly one of the processes receiving on it. A receive
moves the message it takes into ``{queue}$inflight`` in the same script,
and acknowledges it once it has been handed over; a reader that dies in
between leaves it there, and after ``inflight_timeout`` any reader puts it
back. A receive cancelled midway puts back what it had taken.

Not here: per-process inboxes (``_redis_inbox``).
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING, Any

import anyio
import attrs
from anyio.lowlevel import checkpoint_if_cancelled

from callboard.exceptions import ChannelFull, LayerUnavailableError

from ._redis_envelope import EnvelopeError, split_routing
from ._redis_scripts import POP_GENERAL, PUSH_BACK, SEND
from ._redis_shard import Popped, Shard, log_rate_limited

if TYPE_CHECKING:
    from ._redis_layer import RedisLayerBase
    from ._redis_state import LoopState

__all__ = ["Acks", "receive_general", "send_to_queue"]

logger = logging.getLogger("callboard.layers.redis")


def key_ttl(seconds: float) -> int:
    """An EXPIRE value: whole seconds, at least one."""
    return max(1, math.ceil(seconds))


async def send_to_queue(layer: RedisLayerBase, channel: str, message: dict[str, Any]) -> None:
    """Queue ``message`` for ``channel`` in Redis (a general channel, or another process's).

    Raises:
        ChannelFull: the queue holds ``capacity`` messages (counted as ``rejected``).
        LayerUnavailableError: Redis could not take it (counted as ``failed_sends``).
    """
    routed = "!" in channel
    envelope = (
        layer.envelopes.routed(message, channel) if routed else layer.envelopes.encode(message)
    )
    capacity = layer.get_capacity(channel)
    expiry = layer.config.expiry
    key = layer.queue_key(channel)
    score = layer.next_score()
    args = [envelope, repr(score), repr(score - expiry), capacity, key_ttl(expiry)]

    async def run(shard: Shard) -> Any:
        return await shard.run_script("send", SEND, [key], args)

    counters = layer.counters
    try:
        queued, expired = await layer.on_shard(layer.queue_shard(channel), "send", run)
    except LayerUnavailableError:
        counters.failed_sends += 1
        raise
    counters.expired += expired
    if not queued:
        counters.rejected += 1
        layer.count_lost(
            "Queue %r is full (capacity %d): a send to %r was rejected (ChannelFull).",
            f"rejected:{key}",
            key,
            capacity,
            channel,
        )
        raise ChannelFull(channel, capacity)


@attrs.define(eq=False)
class Acks:
    """Acknowledgements of general-channel messages, sent in batches by one task of the state."""

    _pending: dict[tuple[int, str], list[bytes]] = attrs.field(factory=dict)
    _wake: anyio.Event = attrs.field(factory=anyio.Event)

    def add(self, shard: int, inflight: str, envelope: bytes) -> None:
        """Queue the acknowledgement of one handed-over message."""
        self._pending.setdefault((shard, inflight), []).append(envelope)
        self._wake.set()

    async def serve(self, state: LoopState) -> None:
        """Send acknowledgements as they come (the state's task)."""
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            await self.flush(state)

    async def flush(self, state: LoopState) -> None:
        """Send every queued acknowledgement now."""
        pending, self._pending = self._pending, {}
        for (index, inflight), envelopes in pending.items():
            try:
                await state.shards[index].zrem("acknowledge", inflight, envelopes)
            except LayerUnavailableError:
                logger.info(
                    "Could not acknowledge %d message(s) of %r; after inflight_timeout they "
                    "are queued again (received twice).",
                    len(envelopes),
                    inflight,
                )


def _open(layer: RedisLayerBase, envelope: bytes, channel: str) -> dict[str, Any] | None:
    try:
        message = layer.envelopes.decode(envelope)
    except EnvelopeError as exc:
        layer.counters.undecodable += 1
        log_rate_limited(
            logging.WARNING,
            f"undecodable:{channel}",
            "Dropped a message on %r that could not be opened: %s (check "
            "symmetric_encryption_keys and serializer_format match every sender).",
            channel,
            exc,
        )
        return None
    split_routing(message)
    return message


async def receive_general(state: LoopState, channel: str, acks: Acks) -> dict[str, Any]:
    """Take the next message of general channel ``channel``; exactly one receiver gets each.

    Waits through outages (the state reconnects). With several hosts the
    queue's own shard is waited on and the others checked on every round
    (channels_redis spreads general sends over all of them).

    Cancellation: what was taken from Redis is put back; nothing is lost.
    """
    layer = state.layer
    options = layer.options
    counters = layer.counters
    expiry = layer.config.expiry
    key = layer.queue_key(channel)
    inflight = key + "$inflight"
    primary = layer.queue_shard(channel)
    order = [primary, *(i for i in range(len(state.shards)) if i != primary)]
    ttl = key_ttl(options.inflight_timeout + expiry)

    async def put_back(popped: Popped) -> None:
        _, envelope, score = popped
        await state.shards[primary].run_script(
            "receive", PUSH_BACK, [key, inflight], [repr(score), envelope]
        )

    while True:
        await checkpoint_if_cancelled()
        for index in order:
            shard = state.shards[index]
            if not shard.healthy:
                continue
            now = time.time()
            args = [repr(now), repr(now - options.inflight_timeout), repr(now - expiry), ttl]
            with anyio.CancelScope(shield=True):  # bounded by send_timeout
                try:
                    result = await shard.run_script("receive", POP_GENERAL, [key, inflight], args)
                except LayerUnavailableError:
                    continue
            counters.expired += int(result[0])
            counters.inflight_requeued += int(result[1])
            if len(result) > 2:
                envelope = bytes(result[2])
                acks.add(index, inflight, envelope)
                message = _open(layer, envelope, channel)
                if message is not None:
                    counters.receives += 1
                    return message
        shard = state.shards[primary]
        if not shard.healthy:
            await state.wait_up(shard)
            continue
        try:
            popped = await shard.blocking_pop("receive", [key], put_back)
        except LayerUnavailableError:
            continue
        if popped is None:
            continue
        if popped[2] < time.time() - expiry:
            counters.expired += 1
            continue
        message = _open(layer, popped[1], channel)
        if message is not None:
            counters.receives += 1
            return message
