"""Group fan-out on Redis: one envelope per receiving process's queue, one script per shard.

A group message for members of other processes is written once per
receiving queue (a process inbox, or a general channel), naming that
queue's members in ``__asgi_channel__``, with each queue's capacity checked
in the same script. What a full queue refuses, or an unavailable Redis
loses, is counted and logged.

Not here: choosing the members (``RedisChannelLayer.group_send``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from callboard.actors import non_local_name
from callboard.exceptions import LayerUnavailableError

from ._redis_general import key_ttl
from ._redis_scripts import FANOUT
from ._redis_shard import Shard
from ._redis_state import LoopState

if TYPE_CHECKING:
    from ._redis_layer import RedisLayerBase

__all__ = ["count_lost_group_send", "fan_out"]


async def fan_out(
    layer: RedisLayerBase,
    state: LoopState | None,
    group: str,
    message: dict[str, Any],
    remote: dict[str, list[str]],
) -> None:
    """Write one envelope per receiving queue, one script per shard; count what is refused.

    Args:
        layer: the layer sending.
        state: its state in this loop, or ``None`` (a one-off call).
        group: the group, for logs.
        message: the message.
        remote: queue key → the member channels in that queue.

    Raises:
        LayerUnavailableError: a shard is unavailable and ``state`` is ``None``
            (with a state, the loss is counted and logged instead).
    """
    by_shard: dict[int, list[str]] = {}
    for queue, names in remote.items():
        by_shard.setdefault(layer.consistent_hash(non_local_name(names[0])), []).append(queue)
    score = layer.next_score()
    expiry = layer.config.expiry
    head = [repr(score), repr(score - expiry), key_ttl(expiry)]
    counters = layer.counters
    failure: LayerUnavailableError | None = None
    for index, queues in by_shard.items():
        args: list[Any] = list(head)
        for queue in queues:
            names = remote[queue]  # channels_redis routes group messages with a list
            args += [layer.envelopes.routed(message, list(names)), layer.get_capacity(names[0])]

        async def write(shard: Shard, keys: list[str] = queues, argv: list[Any] = args) -> Any:
            return await shard.run_script("group_send", FANOUT, keys, argv)

        try:
            result = await layer.on_shard(index, "group_send", write)
        except LayerUnavailableError as exc:
            failure = exc
            continue
        counters.expired += int(result[0])
        for position in result[1:]:
            queue = queues[int(position) - 1]
            counters.over_capacity += 1
            counters.over_capacity_channels += len(remote[queue])
            layer.count_lost(
                "Group %r: queue %r is full (capacity %d); %d member(s) there missed a "
                "message (counted as over_capacity).",
                f"over_capacity:{queue}",
                group,
                queue,
                layer.get_capacity(remote[queue][0]),
                len(remote[queue]),
            )
    if failure is not None:
        count_lost_group_send(layer, state, group, failure)


def count_lost_group_send(
    layer: RedisLayerBase, state: LoopState | None, group: str, error: LayerUnavailableError
) -> None:
    """Count and log a group message lost to an unavailable Redis; raise without a state.

    Raises:
        LayerUnavailableError: ``error``, when there is no state to count it.
    """
    if state is None:
        raise error
    layer.counters.lost_group_sends += 1
    layer.count_lost(
        "A message to group %r was lost: %s (counted as lost_group_sends).",
        f"lost:{group}",
        group,
        error,
    )
