"""Presence conformance: the same behaviours on the in-memory layer and the Redis layer.

Each test takes ``layer``: the in-memory layer, or a ``RedisChannelLayer``
open in the test's loop against the session's real redis-server (its own
key prefix). The pub/sub layer has no presence (its ``extensions`` say so).
What only Redis does — heartbeats, members of dead processes — is in
``tests/layers/redis/test_redis_presence.py``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import trio.testing

from callboard.actors import PRESENCE_EVENT, Actor, PresenceMember
from callboard.layers import (
    InMemoryChannelLayer,
    PresenceLayer,
    RedisChannelLayer,
    RedisPubSubChannelLayer,
)


@pytest.fixture(params=["inmemory", "redis"])
async def layer(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A fresh presence-capable layer of each kind, open in the test's loop."""
    if request.param == "inmemory":
        yield InMemoryChannelLayer()
        return
    server = request.getfixturevalue("redis_server")
    prefix = request.getfixturevalue("redis_prefix")
    redis_layer = RedisChannelLayer(hosts=[server.url], prefix=prefix)
    async with redis_layer.open():
        yield redis_layer


class Watcher(Actor):
    """Keeps every ``callboard.presence`` message it gets."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.arrived = trio.Event()

    async def callboard_presence(self, message: dict[str, Any]) -> None:
        self.events.append(message)
        self.arrived.set()

    async def next_event(self) -> dict[str, Any]:
        with trio.fail_after(5):
            while not self.events:
                self.arrived = trio.Event()
                await self.arrived.wait()
        return self.events.pop(0)


class Idle(Actor):
    """A member that only exists."""


async def start(nursery: trio.Nursery, actor: Actor) -> str:
    nursery.start_soon(actor.run)
    await trio.testing.wait_all_tasks_blocked()
    assert actor.address is not None
    return actor.address


def names(members: list[PresenceMember]) -> list[str]:
    return [member.metadata["name"] for member in members]


async def test_layer_declares_the_presence_extension(layer: Any) -> None:
    assert isinstance(layer, PresenceLayer)
    assert "presence" in layer.extensions


def test_the_pubsub_layer_has_no_presence() -> None:
    assert "presence" not in RedisPubSubChannelLayer(hosts=["redis://127.0.0.1:1"]).extensions


async def test_members_added_with_metadata_are_present_in_join_order(
    layer: Any, nursery: trio.Nursery
) -> None:
    alice, bob, plain = [await start(nursery, Idle()) for _ in range(3)]
    before = time.time()
    await layer.group_add("room", alice, metadata={"name": "alice", "device": "phone"})
    await layer.group_add("room", bob, metadata={"name": "bob"})
    await layer.group_add("room", plain)  # a member, but not present
    present = await layer.presence("room")
    assert names(present) == ["alice", "bob"]
    assert [m.address for m in present] == [alice, bob]
    assert present[0].metadata == {"name": "alice", "device": "phone"}
    assert before - 1 <= present[0].joined_at <= time.time() + 1
    assert await layer.group_size("room") == 3
    nursery.cancel_scope.cancel()


async def test_group_discard_ends_presence(layer: Any, nursery: trio.Nursery) -> None:
    alice = await start(nursery, Idle())
    await layer.group_add("room", alice, metadata={"name": "alice"})
    await layer.group_discard("room", alice)
    assert await layer.presence("room") == []
    assert await layer.group_size("room") == 0
    nursery.cancel_scope.cancel()


async def test_rejoining_replaces_the_metadata(layer: Any, nursery: trio.Nursery) -> None:
    alice = await start(nursery, Idle())
    await layer.group_add("room", alice, metadata={"name": "alice"})
    await layer.group_add("room", alice, metadata={"name": "alice", "typing": True})
    [member] = await layer.presence("room")
    assert member.metadata == {"name": "alice", "typing": True}
    assert await layer.group_size("room") == 1
    nursery.cancel_scope.cancel()


async def test_rejoining_without_metadata_ends_presence(layer: Any, nursery: trio.Nursery) -> None:
    watcher = Watcher()
    await layer.presence_watch("room", await start(nursery, watcher))
    alice = await start(nursery, Idle())
    await layer.group_add("room", alice, metadata={"name": "alice"})
    await layer.group_add("room", alice)
    assert await layer.presence("room") == []
    assert await layer.group_size("room") == 1
    assert (await watcher.next_event())["joins"][0]["address"] == alice
    assert (await watcher.next_event())["leaves"][0]["address"] == alice
    nursery.cancel_scope.cancel()


async def test_watchers_hear_joins_and_leaves(layer: Any, nursery: trio.Nursery) -> None:
    watcher = Watcher()
    await layer.presence_watch("room", await start(nursery, watcher))
    alice = await start(nursery, Idle())
    await layer.group_add("room", alice, metadata={"name": "alice"})
    joined = await watcher.next_event()
    assert joined["type"] == PRESENCE_EVENT
    assert joined["group"] == "room"
    assert joined["leaves"] == []
    [member] = joined["joins"]
    assert (member["address"], member["metadata"]) == (alice, {"name": "alice"})
    await layer.group_discard("room", alice)
    left = await watcher.next_event()
    assert (left["joins"], [m["address"] for m in left["leaves"]]) == ([], [alice])
    nursery.cancel_scope.cancel()


async def test_plain_members_are_not_announced(layer: Any, nursery: trio.Nursery) -> None:
    watcher = Watcher()
    await layer.presence_watch("room", await start(nursery, watcher))
    plain = await start(nursery, Idle())
    await layer.group_add("room", plain)
    await layer.group_discard("room", plain)
    with trio.move_on_after(0.2):
        await watcher.next_event()
        pytest.fail("a member without metadata was announced")
    nursery.cancel_scope.cancel()


async def test_an_unwatched_group_sends_nothing(layer: Any, nursery: trio.Nursery) -> None:
    watcher = Watcher()
    address = await start(nursery, watcher)
    await layer.presence_watch("room", address)
    await layer.presence_unwatch("room", address)
    await layer.group_add("room", await start(nursery, Idle()), metadata={"name": "x"})
    with trio.move_on_after(0.2):
        await watcher.next_event()
        pytest.fail("an unwatched group's join arrived")
    nursery.cancel_scope.cancel()


async def test_presence_of_an_empty_group_is_empty(layer: Any) -> None:
    assert await layer.presence("nobody-here") == []
    assert await layer.group_size("nobody-here") == 0


async def test_metadata_must_be_a_mapping_with_str_keys(layer: Any, nursery: trio.Nursery) -> None:
    alice = await start(nursery, Idle())
    with pytest.raises(TypeError, match=r"Presence metadata must be a mapping with str keys"):
        await layer.group_add("room", alice, metadata=["alice"])
    with pytest.raises(TypeError, match=r"not \{1: 'alice'\}"):
        await layer.group_add("room", alice, metadata={1: "alice"})
    nursery.cancel_scope.cancel()


async def test_invalid_group_names_are_refused(layer: Any) -> None:
    with pytest.raises(ValueError, match="Invalid group name 'bad name'"):
        await layer.presence("bad name")
    with pytest.raises(ValueError, match="Invalid group name 'bad name'"):
        await layer.group_size("bad name")
