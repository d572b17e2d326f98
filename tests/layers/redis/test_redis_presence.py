"""Presence on Redis: heartbeats, members of dead processes (ghosts), the data model, options.

Timing runs on the real clock (Redis keeps Unix time), with a heartbeat of
0.1 s and a timeout of 0.3 s, so each test takes well under a second.
Another process's members are written straight into Redis, as a process that
then died would have left them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import coredis
import pytest
import trio
import trio.testing

from callboard.actors import Actor, PresenceMember
from callboard.exceptions import InvalidChannelLayerError, InvalidNameError
from callboard.layers import RedisChannelLayer
from callboard.layers._redis_presence import encode_record, presence_keys

HEARTBEAT = 0.1
TIMEOUT = 0.3
GHOST = "specific.999.deadbeef!1.ghost"
"""A channel of a process that does not exist any more."""


@pytest.fixture
def layer(make_layer: Callable[..., RedisChannelLayer]) -> RedisChannelLayer:
    return make_layer(presence_heartbeat_interval=HEARTBEAT, presence_timeout=TIMEOUT)


class Watcher(Actor):
    """Keeps every ``callboard.presence`` message it gets."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._changed = trio.Event()

    async def callboard_presence(self, message: dict[str, Any]) -> None:
        self.events.append(message)
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for(self, condition: Callable[[], bool], within: float) -> None:
        with trio.fail_after(within):
            while not condition():
                await self._changed.wait()

    def left(self) -> list[str]:
        return [m["address"] for event in self.events for m in event["leaves"]]

    def joined(self) -> list[str]:
        return [m["address"] for event in self.events for m in event["joins"]]


class Idle(Actor):
    """A member that only exists."""


async def start(nursery: trio.Nursery, actor: Actor) -> str:
    nursery.start_soon(actor.run)
    await trio.testing.wait_all_tasks_blocked()
    assert actor.address is not None
    return actor.address


async def write_ghost(layer: RedisChannelLayer, group: str, seen: float) -> None:
    """Leave a present member of a dead process in ``group``, last seen at ``seen``."""
    group_key, records, beats, _ = presence_keys(layer, group)
    record = encode_record(
        layer, PresenceMember(address=GHOST, metadata={"name": "ghost"}, joined_at=seen)
    )
    async with coredis.Redis.from_url(layer.hosts[0].url) as client:
        await client.zadd(group_key, {GHOST: seen})
        await client.hset(records, {GHOST: record})
        await client.zadd(beats, {GHOST: seen})


async def members_of(layer: RedisChannelLayer, key: str) -> list[str]:
    async with coredis.Redis.from_url(layer.hosts[0].url) as client:
        return sorted(m.decode() for m in await client.zrange(key, 0, -1))


async def test_heartbeats_keep_a_live_member_present(
    layer: RedisChannelLayer,
) -> None:
    async with layer.open(), trio.open_nursery() as nursery:
        alice = await start(nursery, Idle())
        await layer.group_add("room", alice, metadata={"name": "alice"})
        await trio.sleep(3 * TIMEOUT)
        assert [m.address for m in await layer.presence("room")] == [alice]
        nursery.cancel_scope.cancel()


async def test_a_ghost_is_not_listed_and_its_leaving_is_announced_once(
    layer: RedisChannelLayer,
) -> None:
    async with layer.open(), trio.open_nursery() as nursery:
        watcher = Watcher()
        await layer.presence_watch("room", await start(nursery, watcher))
        await write_ghost(layer, "room", time.time() - 2 * TIMEOUT)
        assert await layer.presence("room") == []
        assert await layer.group_size("room") == 0
        assert await layer.presence("room") == []  # removed by the first call: announced once
        await trio.sleep(0.1)
        assert watcher.left() == [GHOST]
        assert await members_of(layer, layer.group_key("room")) == []  # group_send skips it now
        assert layer.statistics().presence_ghosts == 1
        nursery.cancel_scope.cancel()


async def test_the_heartbeat_sweeps_ghosts_of_watched_groups_unasked(
    layer: RedisChannelLayer,
) -> None:
    async with layer.open(), trio.open_nursery() as nursery:
        watcher = Watcher()
        await layer.presence_watch("room", await start(nursery, watcher))
        await write_ghost(layer, "room", time.time())  # alive now, then its process dies
        await watcher.wait_for(lambda: bool(watcher.left()), within=TIMEOUT + 3 * HEARTBEAT + 1)
        assert watcher.left() == [GHOST]
        nursery.cancel_scope.cancel()


async def test_an_actor_that_ended_without_leaving_is_removed_by_the_next_heartbeat(
    layer: RedisChannelLayer,
) -> None:
    async with layer.open(), trio.open_nursery() as nursery:
        watcher = Watcher()
        await layer.presence_watch("room", await start(nursery, watcher))
        idle = Idle()
        alice = await start(nursery, idle)
        await layer.group_add("room", alice, metadata={"name": "alice"})
        idle.request_stop()  # it ends; nothing discards it
        await watcher.wait_for(lambda: alice in watcher.left(), within=3 * HEARTBEAT + 1)
        assert await layer.presence("room") == []
        nursery.cancel_scope.cancel()


async def test_a_member_removed_while_its_process_stalled_is_put_back(
    layer: RedisChannelLayer,
) -> None:
    async with layer.open(), trio.open_nursery() as nursery:
        watcher = Watcher()
        await layer.presence_watch("room", await start(nursery, watcher))
        alice = await start(nursery, Idle())
        await layer.group_add("room", alice, metadata={"name": "alice"})
        _, _, beats, _ = presence_keys(layer, "room")
        async with coredis.Redis.from_url(layer.hosts[0].url) as client:
            await client.zadd(beats, {alice: time.time() - 2 * TIMEOUT})  # as if it stalled
        assert await layer.presence("room") == []  # another process would see it gone ...
        # ... until its own heartbeat puts it back
        await watcher.wait_for(lambda: len(watcher.joined()) == 2, within=3 * HEARTBEAT + 1)
        assert [m.address for m in await layer.presence("room")] == [alice]
        assert watcher.joined() == [alice, alice]
        assert watcher.left() == [alice]
        nursery.cancel_scope.cancel()


async def test_another_process_discarding_a_member_is_not_undone(
    layer: RedisChannelLayer,
) -> None:
    async with layer.open(), trio.open_nursery() as nursery:
        alice = await start(nursery, Idle())
        await layer.group_add("room", alice, metadata={"name": "alice"})
        other = RedisChannelLayer(hosts=[layer.hosts[0].url], prefix=layer.prefix)
        await other.group_discard("room", alice)  # one-off call, as from another process
        await trio.sleep(3 * HEARTBEAT)
        assert await layer.presence("room") == []
        assert layer.statistics().present == 0
        nursery.cancel_scope.cancel()


async def test_the_group_set_stays_channels_redis_shaped(
    layer: RedisChannelLayer,
) -> None:
    async with layer.open(), trio.open_nursery() as nursery:
        alice = await start(nursery, Idle())
        await layer.group_add("room", alice, metadata={"name": "alice"})
        assert await members_of(layer, f"{layer.prefix}:group:room") == [alice]
        await layer.group_discard("room", alice)
        assert await members_of(layer, f"{layer.prefix}:group:room") == []
        async with coredis.Redis.from_url(layer.hosts[0].url) as client:
            assert await client.hlen(f"{layer.prefix}:presence:room") == 0
        nursery.cancel_scope.cancel()


async def test_closing_the_layer_removes_its_present_members(layer: RedisChannelLayer) -> None:
    alice = Idle()
    async with trio.open_nursery() as nursery:
        async with layer.open():
            address = await start(nursery, alice)
            await layer.group_add("room", address, metadata={"name": "alice"})
        assert await layer.presence("room") == []
        nursery.cancel_scope.cancel()


async def test_metadata_for_another_process_s_channel_is_refused(
    layer: RedisChannelLayer,
) -> None:
    async with layer.open():
        with pytest.raises(InvalidNameError, match="kept alive by the process that owns"):
            await layer.group_add("room", GHOST, metadata={"name": "ghost"})


def test_presence_timeout_must_exceed_the_heartbeat(
    make_layer: Callable[..., RedisChannelLayer],
) -> None:
    with pytest.raises(
        InvalidChannelLayerError, match=r"presence_timeout \(5 s\) must exceed presence_heartbeat"
    ):
        make_layer(presence_heartbeat_interval=5, presence_timeout=5)


async def test_round_trips_are_timed(layer: RedisChannelLayer) -> None:
    before = layer.statistics().round_trips.count
    await layer.group_size("room")
    stats = layer.statistics().round_trips
    assert stats.count == before + 1
    assert stats.buckets[-1] == (float("inf"), stats.count)
    assert 0 < stats.max_seconds < 5
