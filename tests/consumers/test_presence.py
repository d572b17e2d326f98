"""Presence for consumers: present in groups with metadata, watching joins and leaves, batching.

Every test runs on the in-memory layer under virtual time; the same
consumer code on the Redis layer is covered end to end in
``tests/e2e/test_presence_multiprocess.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import trio
import trio.testing

from callboard.actors import current_registry, presence_events_group
from callboard.consumers import AsyncJsonWebsocketConsumer, JsonWebsocketConsumer
from callboard.layers import RedisPubSubChannelLayer, channel_layers, get_channel_layer
from callboard.testing import WebsocketCommunicator

from ._helpers import Boom

ROOM = "lobby"


class Member(AsyncJsonWebsocketConsumer):
    """Present in the lobby as the ``name`` in its query string; watches it; relays changes."""

    presence_groups = (ROOM,)
    presence_events = True
    presence_batch_interval = 1.0

    async def presence_metadata(self, group: str) -> Mapping[str, Any]:
        return {"name": self.scope["query_string"].decode()}

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if content == "crash":
            raise Boom("crash")
        if content == "leave":
            await self.leave_presence(ROOM)

    async def presence_join(self, event: dict[str, Any]) -> None:
        await self.send_json(["join", event["member"]["metadata"]["name"]])

    async def presence_leave(self, event: dict[str, Any]) -> None:
        await self.send_json(["leave", event["member"]["metadata"]["name"]])

    async def presence_diff(self, event: dict[str, Any]) -> None:
        names = sorted(m["metadata"]["name"] for m in event["joins"])
        gone = sorted(m["metadata"]["name"] for m in event["leaves"])
        await self.send_json(["diff", names, gone])


class DiffOnly(Member):
    """Watches with only a presence_diff handler: single changes arrive as one-member diffs."""

    presence_join = None  # type: ignore[assignment]  # removing the inherited handlers
    presence_leave = None  # type: ignore[assignment]


class Quiet(AsyncJsonWebsocketConsumer):
    """Present in the lobby without watching it."""

    presence_groups = (ROOM,)


class NoHandlers(AsyncJsonWebsocketConsumer):
    """Asks to watch, but defines no presence_diff."""

    async def connect(self) -> None:
        await self.watch_presence(ROOM)
        await self.accept()


class SyncMember(JsonWebsocketConsumer):
    """The sync consumer: its presence handlers run in worker threads."""

    presence_groups = (ROOM,)
    presence_events = True

    async def presence_metadata(self, group: str) -> Mapping[str, Any]:
        return {"name": "sync"}

    def presence_diff(self, event: dict[str, Any]) -> None:
        names = sorted(m["metadata"]["name"] for m in event["joins"])
        self.send_json(["diff", names, [m["metadata"]["name"] for m in event["leaves"]]])


async def names_present() -> list[str]:
    layer: Any = get_channel_layer()
    return [m.metadata["name"] for m in await layer.presence(ROOM)]


async def test_presence_groups_are_joined_with_presence_metadata_once_accepted() -> None:
    async with WebsocketCommunicator(Member.as_asgi(), "/?alice") as alice:
        assert await names_present() == []
        assert await alice.connect() == (True, None)
        assert await names_present() == ["alice"]
        assert await alice.receive_json_from() == ["join", "alice"]  # it watches itself too
        await alice.disconnect()
    assert await names_present() == []


async def test_join_then_leave_after_quiet_spells_are_single_events(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with WebsocketCommunicator(Member.as_asgi(), "/?alice") as alice:
        await alice.connect()
        assert await alice.receive_json_from() == ["join", "alice"]
        await trio.sleep(2)
        async with WebsocketCommunicator(Member.as_asgi(), "/?bob") as bob:
            await bob.connect()
            assert await alice.receive_json_from() == ["join", "bob"]
            assert await bob.receive_json_from() == ["join", "bob"]
            await trio.sleep(2)
            await bob.disconnect()
        assert await alice.receive_json_from() == ["leave", "bob"]
        assert await names_present() == ["alice"]


async def test_churn_within_the_window_arrives_as_one_net_diff(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with WebsocketCommunicator(Member.as_asgi(), "/?alice") as alice:
        await alice.connect()
        assert await alice.receive_json_from() == ["join", "alice"]  # opens a window
        started = trio.current_time()
        async with (
            WebsocketCommunicator(Member.as_asgi(), "/?bob") as bob,
            WebsocketCommunicator(Member.as_asgi(), "/?carol") as carol,
        ):
            await bob.connect()
            await carol.connect()
            await carol.disconnect()  # came and went inside the window: in neither list
            for name in ("dave", "erin"):
                async with WebsocketCommunicator(Member.as_asgi(), f"/?{name}") as other:
                    await other.connect()
                    if name == "erin":
                        await other.disconnect()
                        continue
                    assert await alice.receive_json_from(timeout=2) == [
                        "diff",
                        ["bob", "dave"],
                        [],
                    ]
                    assert trio.current_time() - started == pytest.approx(1.0)
                    await other.disconnect()
            assert await alice.receive_json_from(timeout=2) == ["diff", [], ["dave"]]
            assert await names_present() == ["alice", "bob"]
            await bob.disconnect()


async def test_only_a_diff_handler_gets_single_changes_as_one_member_diffs(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with WebsocketCommunicator(DiffOnly.as_asgi(), "/?alice") as alice:
        await alice.connect()
        assert await alice.receive_json_from() == ["diff", ["alice"], []]


async def test_leaving_explicitly_is_announced_and_stops_watching(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with (
        WebsocketCommunicator(Member.as_asgi(), "/?alice") as alice,
        WebsocketCommunicator(Member.as_asgi(), "/?bob") as bob,
    ):
        await alice.connect()
        await trio.sleep(2)
        await bob.connect()
        assert await bob.receive_json_from() == ["join", "bob"]
        await trio.sleep(2)
        await alice.send_json_to("leave")
        assert await bob.receive_json_from() == ["leave", "alice"]
        assert await names_present() == ["bob"]
        watchers = current_registry().members(presence_events_group(ROOM))
        assert len(watchers) == 1  # alice no longer watches
        await alice.disconnect()
        await bob.disconnect()


async def test_a_crashed_connection_leaves_and_is_announced(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with WebsocketCommunicator(Member.as_asgi(), "/?alice") as alice:
        await alice.connect()
        assert await alice.receive_json_from() == ["join", "alice"]
        await trio.sleep(2)
        async with WebsocketCommunicator(Member.as_asgi(), "/?bob") as bob:
            await bob.connect()
            assert await alice.receive_json_from() == ["join", "bob"]
            await trio.sleep(2)
            await bob.send_json_to("crash")
            with pytest.raises(Boom):
                await bob.wait()
        assert await alice.receive_json_from() == ["leave", "bob"]
        assert await names_present() == ["alice"]
        await alice.disconnect()


async def test_a_cancelled_connection_leaves_presence() -> None:
    layer: Any = get_channel_layer()
    with trio.CancelScope() as cancel:
        async with WebsocketCommunicator(Quiet.as_asgi(), "/") as comm:
            await comm.connect()
            assert len(await layer.presence(ROOM)) == 1
            cancel.cancel()
            await trio.sleep_forever()
    assert await layer.presence(ROOM) == []
    assert current_registry().statistics().groups == 0


async def test_watching_without_a_presence_diff_handler_is_a_clear_error() -> None:
    async with WebsocketCommunicator(NoHandlers.as_asgi(), "/") as comm:
        with pytest.raises(
            TypeError, match="NoHandlers watches presence but defines no presence_diff"
        ):
            await comm.connect()


async def test_a_sync_consumer_is_present_and_watches_from_its_threads() -> None:
    async with WebsocketCommunicator(SyncMember.as_asgi(), "/") as comm:
        assert await comm.connect() == (True, None)
        assert await comm.receive_json_from() == ["diff", ["sync"], []]
        assert await names_present() == ["sync"]
        await comm.disconnect()
    assert await names_present() == []


async def test_presence_messages_cannot_reach_the_presence_methods() -> None:
    async with WebsocketCommunicator(Quiet.as_asgi(), "/") as comm:
        await comm.connect()
        layer = get_channel_layer()
        address = next(iter(current_registry().addresses()))
        await layer.send(address, {"type": "join.presence", "group": "x"})
        with pytest.raises(Exception, match="join_presence"):
            await comm.wait()


async def test_a_layer_without_presence_is_a_clear_error() -> None:
    previous = channel_layers.set("default", RedisPubSubChannelLayer(hosts=["redis://127.0.0.1:1"]))
    try:
        async with WebsocketCommunicator(Quiet.as_asgi(), "/") as comm:
            with pytest.raises(
                TypeError,
                match=r"Quiet: the channel layer RedisPubSubChannelLayer does not support presence",
            ):
                await comm.connect()
            await comm.wait()
    finally:
        if previous is not None:
            channel_layers.set("default", previous)
        else:
            channel_layers.reset()
