"""RedisChannelLayer beyond the conformance suite: inboxes, capacity, expiry, ownership."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anyio
import coredis
import msgpack
import pytest
import trio
import trio.testing

from callboard.actors import Actor, process_name
from callboard.exceptions import ChannelFull, InvalidNameError, LayerNotOpenError
from callboard.layers import RedisChannelLayer

OTHER = "specific.999.deadbeef!"
"""The inbox of a process that does not exist (so nothing reads it)."""


async def _zset(layer: RedisChannelLayer, key: str) -> list[tuple[bytes, float]]:
    async with coredis.Redis.from_url(layer.hosts[0].url) as client:
        return [
            (bytes(m.member), float(m.score))
            for m in await client.zrange(key, 0, -1, withscores=True)
        ]


async def test_group_of_500_in_one_process_is_one_entry_in_its_inbox(
    make_layer: Callable[..., RedisChannelLayer],
) -> None:
    layer = make_layer()
    members = [f"{OTHER}{n}.x" for n in range(500)]
    for member in members:
        await layer.group_add("big", member)
    await layer.group_send("big", {"type": "chat.message", "text": "hi"})
    entries = await _zset(layer, layer.prefix + OTHER)
    assert len(entries) == 1
    envelope = msgpack.unpackb(entries[0][0][12:])
    assert sorted(envelope["__asgi_channel__"]) == sorted(members)
    assert envelope["text"] == "hi"


async def test_group_send_over_capacity_is_counted_and_logged(
    make_layer: Callable[..., RedisChannelLayer], caplog: pytest.LogCaptureFixture
) -> None:
    layer = make_layer(capacity=1)
    await layer.group_add("room", f"{OTHER}1.a")
    await layer.group_add("room", f"{OTHER}2.b")
    with caplog.at_level(logging.WARNING, "callboard.layers.redis"):
        await layer.group_send("room", {"type": "m", "n": 1})
        await layer.group_send("room", {"type": "m", "n": 2})
    stats = layer.statistics()
    assert (stats.over_capacity, stats.over_capacity_channels) == (1, 2)
    assert "is full (capacity 1); 2 member(s) there missed a message" in caplog.text


async def test_send_to_a_full_process_inbox_raises_channel_full(
    make_layer: Callable[..., RedisChannelLayer],
) -> None:
    layer = make_layer(capacity=1)
    await layer.send(f"{OTHER}1.a", {"type": "m"})
    with pytest.raises(ChannelFull, match=r"is full \(capacity 1\)"):
        await layer.send(f"{OTHER}1.b", {"type": "m"})
    assert layer.statistics().rejected == 1


async def test_expired_messages_are_dropped_and_counted(
    make_layer: Callable[..., RedisChannelLayer],
) -> None:
    layer = make_layer(expiry=0.2)
    async with layer.open():
        await layer.send("jobs", {"type": "old"})
        await anyio.sleep(0.3)  # wall-clock expiry: Redis scores are Unix times
        await layer.send("jobs", {"type": "new"})
        assert await layer.receive("jobs") == {"type": "new"}
    assert layer.statistics().expired == 1


async def test_message_for_an_ended_actor_is_counted_not_buffered(
    make_layer: Callable[..., RedisChannelLayer],
) -> None:
    layer = make_layer()
    gone = f"specific.{process_name()}!999999.gone"
    async with layer.open():
        await layer.send(gone, {"type": "m"})
        stats = layer.statistics()
    assert (stats.no_receiver, stats.local_deliveries) == (1, 0)


async def test_remote_senders_reach_local_actors_through_the_inbox(
    make_layer: Callable[..., RedisChannelLayer], nursery: Any
) -> None:
    """A message another process queued for one of ours arrives via the inbox reader."""
    layer = make_layer()
    seen: list[dict[str, Any]] = []
    arrived = trio.Event()

    class Recorder(Actor):
        async def chat_message(self, message: dict[str, Any]) -> None:
            seen.append(message)
            arrived.set()

    async with layer.open():
        actor = Recorder()
        nursery.start_soon(actor.run)
        await trio.testing.wait_all_tasks_blocked()
        assert actor.address is not None
        # What a channels_redis process (or another callboard) writes for it:
        other = RedisChannelLayer(hosts=[layer.hosts[0].url], prefix=layer.prefix)
        envelope = other.envelopes.routed({"type": "chat.message", "n": 1}, [actor.address])
        async with coredis.Redis.from_url(layer.hosts[0].url) as client:
            await client.zadd(layer.queue_key(actor.address), {envelope: other.next_score()})
        with trio.fail_after(5):
            await arrived.wait()
        actor.request_stop()
    assert seen == [{"type": "chat.message", "n": 1}]


async def test_reader_requeues_the_inflight_messages_of_a_dead_reader(
    make_layer: Callable[..., RedisChannelLayer],
) -> None:
    layer = make_layer(inflight_timeout=0.1)
    key = layer.queue_key("jobs")
    envelope = layer.envelopes.encode({"type": "orphan"})
    async with coredis.Redis.from_url(layer.hosts[0].url) as client:
        # A reader popped it (score = pop time) and died before finishing.
        await client.zadd(key + "$inflight", {envelope: layer.next_score() - 1})
    async with layer.open():
        with anyio.fail_after(5):
            assert await layer.receive("jobs") == {"type": "orphan"}
    assert layer.statistics().inflight_requeued == 1


async def test_receiving_without_an_owner_says_how_to_get_one(
    make_layer: Callable[..., RedisChannelLayer],
) -> None:
    layer = make_layer()
    with pytest.raises(LayerNotOpenError, match=r"async with layer.open\(\)"):
        await layer.receive("jobs")
    with pytest.raises(
        LayerNotOpenError, match=r"RedisChannelLayer.new_channel\(\) needs the layer open"
    ):
        await layer.new_channel()


async def test_sending_without_an_owner_uses_a_short_lived_connection(
    make_layer: Callable[..., RedisChannelLayer],
) -> None:
    layer = make_layer()
    await layer.send("jobs", {"type": "m"})
    await layer.group_add("room", f"{OTHER}1.a")
    await layer.group_send("room", {"type": "g"})
    assert len(await _zset(layer, layer.prefix + OTHER)) == 1
    async with layer.open():
        assert await layer.receive("jobs") == {"type": "m"}


async def test_receive_refuses_other_processes_and_the_bare_inbox(
    make_layer: Callable[..., RedisChannelLayer],
) -> None:
    layer = make_layer()
    async with layer.open():
        with pytest.raises(InvalidNameError, match="belongs to another process"):
            await layer.receive(f"{OTHER}1.a")
        with pytest.raises(InvalidNameError, match="this process's inbox"):
            await layer.receive(f"specific.{process_name()}!")


async def test_memberships_of_this_process_are_removed_on_close(
    make_layer: Callable[..., RedisChannelLayer],
) -> None:
    layer = make_layer()
    async with layer.open():
        channel = await layer.new_channel()
        await layer.group_add("room", channel)
        assert layer.statistics().memberships == 1
    assert await _zset(layer, layer.group_key("room")) == []


@pytest.mark.anyio
async def test_layer_runs_on_asyncio_too(redis_server: Any, redis_prefix: str) -> None:
    layer = RedisChannelLayer(hosts=[redis_server.url], prefix=redis_prefix)
    async with layer.open():
        channel = await layer.new_channel()
        await layer.group_add("room", channel)
        await layer.group_send("room", {"type": "m"})
        assert await layer.receive(channel) == {"type": "m"}
        await layer.send("jobs", {"type": "j"})
        assert await layer.receive("jobs") == {"type": "j"}


async def test_closing_after_a_cancelled_general_receive_wakes_the_inbox_at_once(
    make_layer: Callable[..., RedisChannelLayer],
) -> None:
    # Two blocking pops on one shard (the inbox reader's and the receive's): the
    # receive's ending once made the shard forget the inbox's, so closing waited
    # out block_timeout (5 s) for it.
    layer = make_layer()
    async with layer.open():
        with trio.move_on_after(0.05):
            await layer.receive("jobs")
        started = trio.current_time()
    assert trio.current_time() - started < 1.0
