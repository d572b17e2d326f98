"""The layer conformance suite: the same behaviours, run against every layer.

Each test takes ``layer``, parametrized over the in-memory layer, the Redis
layer and the Redis pub/sub layer (the Redis ones open in the test's event
loop, against the session's real redis-server, each test with its own key
prefix). A behaviour one layer documents differently is not here: it is
tested beside that layer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
import trio
import trio.testing

from callboard.actors import Actor
from callboard.exceptions import ChannelFull, InvalidMessageError, InvalidNameError
from callboard.layers import (
    ChannelLayer,
    InMemoryChannelLayer,
    RedisChannelLayer,
    RedisPubSubChannelLayer,
)

LAYERS = ["inmemory", "redis", "redis_pubsub"]


@pytest.fixture(params=LAYERS)
async def layer(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A fresh layer of each kind, capacity 3, open in the test's loop."""
    if request.param == "inmemory":
        yield InMemoryChannelLayer(capacity=3)
        return
    server = request.getfixturevalue("redis_server")
    prefix = request.getfixturevalue("redis_prefix")
    cls = RedisChannelLayer if request.param == "redis" else RedisPubSubChannelLayer
    redis_layer = cls(hosts=[server.url], prefix=prefix, capacity=3)
    async with redis_layer.open():
        yield redis_layer


class Recorder(Actor):
    """An actor that keeps what its ``chat.message`` handler saw."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.arrived = trio.Event()

    async def chat_message(self, message: dict[str, Any]) -> None:
        self.seen.append(message)
        self.arrived.set()


async def _nothing_on(layer: ChannelLayer, channel: str) -> bool:
    with anyio.move_on_after(0.2) as scope:
        await layer.receive(channel)
    return scope.cancelled_caught


async def test_layer_implements_the_protocol(layer: Any) -> None:
    assert isinstance(layer, ChannelLayer)
    assert {"groups", "flush"} <= set(layer.extensions)


async def test_general_channel_delivers_in_send_order(layer: Any) -> None:
    for n in range(3):
        await layer.send("jobs", {"type": "job.run", "n": n})
    assert [(await layer.receive("jobs"))["n"] for _ in range(3)] == [0, 1, 2]


async def test_new_channel_names_are_fresh_and_receivable(layer: Any) -> None:
    first, second = await layer.new_channel(), await layer.new_channel()
    assert first != second
    assert first.startswith("specific.")
    assert "!" in first
    await layer.send(second, {"type": "hello"})
    assert await layer.receive(second) == {"type": "hello"}


async def test_group_send_reaches_every_member_once(layer: Any) -> None:
    alice, bob, carol = [await layer.new_channel() for _ in range(3)]
    await layer.group_add("room", alice)
    await layer.group_add("room", bob)
    await layer.group_add("room", bob)  # renewing is not joining twice
    await layer.group_send("room", {"type": "chat.message", "text": "hi"})
    assert await layer.receive(alice) == {"type": "chat.message", "text": "hi"}
    assert await layer.receive(bob) == {"type": "chat.message", "text": "hi"}
    assert await _nothing_on(layer, alice)
    assert await _nothing_on(layer, bob)
    assert await _nothing_on(layer, carol)


async def test_group_discard_stops_delivery(layer: Any) -> None:
    alice, bob = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", alice)
    await layer.group_add("room", bob)
    await layer.group_discard("room", alice)
    await layer.group_discard("room", alice)  # not a member: nothing happens
    await layer.group_send("room", {"type": "m"})
    assert await layer.receive(bob) == {"type": "m"}
    assert await _nothing_on(layer, alice)


async def test_group_send_reaches_an_actor_through_its_mailbox(layer: Any, nursery: Any) -> None:
    actor = Recorder()
    nursery.start_soon(actor.run)
    await trio.testing.wait_all_tasks_blocked()
    assert actor.address is not None
    await layer.group_add("room", actor.address)
    await layer.group_send("room", {"type": "chat.message", "text": "hi"})
    with trio.fail_after(5):
        await actor.arrived.wait()
    assert actor.seen == [{"type": "chat.message", "text": "hi"}]
    actor.request_stop()


async def test_direct_send_reaches_an_actor(layer: Any, nursery: Any) -> None:
    actor = Recorder()
    nursery.start_soon(actor.run)
    await trio.testing.wait_all_tasks_blocked()
    assert actor.address is not None
    await layer.send(actor.address, {"type": "chat.message", "text": "direct"})
    with trio.fail_after(5):
        await actor.arrived.wait()
    assert actor.seen == [{"type": "chat.message", "text": "direct"}]
    actor.request_stop()


async def test_full_general_channel_raises_channel_full(layer: Any) -> None:
    for n in range(3):
        await layer.send("jobs", {"type": "a", "n": n})
    with pytest.raises(ChannelFull, match=r"Channel 'jobs' is full \(capacity 3\)"):
        await layer.send("jobs", {"type": "b"})
    assert (await layer.receive("jobs"))["n"] == 0
    await layer.send("jobs", {"type": "c"})  # room again


async def test_flush_drops_messages_and_groups(layer: Any) -> None:
    member = await layer.new_channel()
    await layer.group_add("room", member)
    await layer.send("jobs", {"type": "a"})
    await layer.flush()
    await layer.group_send("room", {"type": "b"})
    assert await _nothing_on(layer, "jobs")
    assert await _nothing_on(layer, member)


async def test_each_general_message_goes_to_one_receiver(layer: Any) -> None:
    got: list[int] = []

    async def receive_one() -> None:
        got.append((await layer.receive("jobs"))["n"])

    async with anyio.create_task_group() as task_group:
        task_group.start_soon(receive_one)
        task_group.start_soon(receive_one)
        await trio.testing.wait_all_tasks_blocked()
        await layer.send("jobs", {"type": "job", "n": 1})
        await layer.send("jobs", {"type": "job", "n": 2})
    assert sorted(got) == [1, 2]


async def test_cancelled_receive_loses_nothing(layer: Any) -> None:
    with anyio.move_on_after(0.1):
        await layer.receive("jobs")
    await layer.send("jobs", {"type": "job", "n": 1})
    with anyio.fail_after(5):
        assert await layer.receive("jobs") == {"type": "job", "n": 1}


async def test_receiver_gets_its_own_copy(layer: Any) -> None:
    message: dict[str, Any] = {"type": "m", "items": [1]}
    channel = await layer.new_channel()
    await layer.send(channel, message)
    message["items"].append(2)
    assert await layer.receive(channel) == {"type": "m", "items": [1]}


async def test_invalid_names_and_messages_are_refused(layer: Any) -> None:
    with pytest.raises(InvalidNameError, match="Invalid channel name 'bad name'"):
        await layer.send("bad name", {"type": "m"})
    with pytest.raises(InvalidNameError, match="Invalid group name 'bad!group'"):
        await layer.group_send("bad!group", {"type": "m"})
    with pytest.raises(InvalidMessageError, match="must be a dict"):
        await layer.send("jobs", ["not", "a", "dict"])
    with pytest.raises(InvalidMessageError, match="__asgi_channel__"):
        await layer.send("jobs", {"type": "m", "__asgi_channel__": "x"})
