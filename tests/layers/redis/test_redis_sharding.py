"""Several hosts: keys are sharded exactly as channels_redis shards them, minus its bug #221.

channels_redis hashes a process-specific name in full when sending and its
non-local part when receiving, so with several hosts half its direct sends
land on a shard nobody reads. This layer sends to the shard of the non-local
name, and its inbox reader reads the inbox on every shard, so even
channels_redis' misrouted sends arrive.
"""

from __future__ import annotations

from typing import Any

import anyio
import coredis
from _redis_service import RedisServer
from channels_redis.utils import _consistent_hash

from callboard.actors import non_local_name
from callboard.layers import RedisChannelLayer


def _split_name(process: str) -> str:
    """A channel of ``process`` whose full-name shard differs from its non-local-name shard."""
    for n in range(1000):
        name = f"{process}{n}.x"
        if _consistent_hash(name, 2) != _consistent_hash(non_local_name(name), 2):
            return name
    raise AssertionError("no such name")


async def _count(url: str, key: str) -> int:
    async with coredis.Redis.from_url(url) as client:
        return await client.zcard(key)


async def test_hash_matches_channels_redis() -> None:
    layer = RedisChannelLayer(hosts=["redis://a:1", "redis://b:2", "redis://c:3"])
    for name in ("room", "specific.abc!", "chat_lobby", "x" * 90):
        assert layer.consistent_hash(name) == _consistent_hash(name, 3)


async def test_direct_send_lands_where_the_receiver_reads(
    redis_server: RedisServer, own_server: RedisServer, redis_prefix: str
) -> None:
    urls = [redis_server.url, own_server.url]
    layer = RedisChannelLayer(hosts=urls, prefix=redis_prefix)
    name = _split_name("specific.999.deadbeef!")
    await layer.send(name, {"type": "m"})
    right = _consistent_hash(non_local_name(name), 2)
    key = layer.queue_key(name)
    assert await _count(urls[right], key) == 1
    assert await _count(urls[1 - right], key) == 0


async def test_channels_redis_misrouted_sends_still_arrive(
    redis_server: RedisServer, own_server: RedisServer, redis_prefix: str
) -> None:
    urls = [redis_server.url, own_server.url]
    layer = RedisChannelLayer(hosts=urls, prefix=redis_prefix)
    async with layer.open():
        channels: list[str] = []
        while len({_consistent_hash(c, 2) for c in channels}) < 2:  # names hashing both ways
            channels.append(await layer.new_channel())
        for channel in channels:
            # Where channels_redis 4.3 puts a direct send: the shard of the full name.
            envelope = layer.envelopes.routed({"type": "m", "to": channel}, channel)
            async with coredis.Redis.from_url(urls[_consistent_hash(channel, 2)]) as client:
                await client.zadd(layer.queue_key(channel), {envelope: layer.next_score()})
        with anyio.fail_after(5):
            got: list[Any] = [await layer.receive(channel) for channel in channels]
        assert [m["to"] for m in got] == channels


async def test_group_spanning_shards_reaches_every_member(
    redis_server: RedisServer, own_server: RedisServer, redis_prefix: str
) -> None:
    layer = RedisChannelLayer(hosts=[redis_server.url, own_server.url], prefix=redis_prefix)
    async with layer.open():
        members = [await layer.new_channel() for _ in range(4)]
        groups = [f"g{n}" for n in range(6)]  # spread over both shards
        for group in groups:
            for member in members:
                await layer.group_add(group, member)
            await layer.group_send(group, {"type": "m", "group": group})
        with anyio.fail_after(5):
            for member in members:
                assert [(await layer.receive(member))["group"] for _ in groups] == groups
