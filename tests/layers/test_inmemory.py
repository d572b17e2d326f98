"""Tests for InMemoryChannelLayer.

The layer's core behaviour is marked ``anyio`` and runs on Trio and asyncio;
the rest runs on Trio with ``autojump_clock`` for anything timed.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import anyio
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from callboard.actors import Actor, OverflowPolicy, current_registry
from callboard.exceptions import ChannelFull, InvalidMessageError, InvalidNameError
from callboard.layers import InMemoryChannelLayer, InMemoryLayerStatistics


class Recorder(Actor):
    """An actor that keeps what its ``chat.message`` handler saw."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def chat_message(self, message: dict[str, Any]) -> None:
        self.seen.append(message)


# -- core behaviour, on both backends -------------------------------------------


@pytest.mark.anyio
async def test_send_then_receive_round_trips_a_message() -> None:
    layer = InMemoryChannelLayer()
    await layer.send("jobs", {"type": "job.run", "n": 1})
    await layer.send("jobs", {"type": "job.run", "n": 2})
    assert await layer.receive("jobs") == {"type": "job.run", "n": 1}
    assert await layer.receive("jobs") == {"type": "job.run", "n": 2}


@pytest.mark.anyio
async def test_new_channel_names_are_fresh_and_receivable() -> None:
    layer = InMemoryChannelLayer()
    first, second = await layer.new_channel(), await layer.new_channel()
    assert first != second
    assert first.startswith("specific.")
    assert "!" in first
    await layer.send(second, {"type": "hello"})
    assert await layer.receive(second) == {"type": "hello"}


@pytest.mark.anyio
async def test_group_send_reaches_every_member_once() -> None:
    layer = InMemoryChannelLayer()
    alice, bob, carol = [await layer.new_channel() for _ in range(3)]
    await layer.group_add("room", alice)
    await layer.group_add("room", bob)
    await layer.group_add("room", bob)  # renewing is not joining twice
    await layer.group_send("room", {"type": "chat.message", "text": "hi"})
    assert await layer.receive(alice) == {"type": "chat.message", "text": "hi"}
    assert await layer.receive(bob) == {"type": "chat.message", "text": "hi"}
    with anyio.move_on_after(0.05) as scope:
        await layer.receive(carol)
    assert scope.cancelled_caught
    assert layer.statistics().queued == 0


@pytest.mark.anyio
async def test_group_discard_stops_delivery() -> None:
    layer = InMemoryChannelLayer()
    alice, bob = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", alice)
    await layer.group_add("room", bob)
    await layer.group_discard("room", alice)
    await layer.group_discard("room", alice)  # not a member: nothing happens
    await layer.group_send("room", {"type": "m"})
    assert await layer.group_size("room") == 1
    assert [m.address for m in await layer.members("room")] == [bob]
    assert layer.statistics().queued == 1


@pytest.mark.anyio
async def test_full_channel_raises_channel_full() -> None:
    layer = InMemoryChannelLayer(capacity=2)
    await layer.send("jobs", {"type": "a"})
    await layer.send("jobs", {"type": "b"})
    with pytest.raises(ChannelFull, match=r"Channel 'jobs' is full \(capacity 2\)"):
        await layer.send("jobs", {"type": "c"})
    assert await layer.receive("jobs") == {"type": "a"}
    await layer.send("jobs", {"type": "d"})  # room again
    assert layer.statistics().rejected == 1


@pytest.mark.anyio
async def test_flush_drops_messages_and_groups() -> None:
    layer = InMemoryChannelLayer()
    member = await layer.new_channel()
    await layer.group_add("room", member)
    await layer.send("jobs", {"type": "a"})
    await layer.group_send("room", {"type": "b"})
    await layer.flush()
    stats = layer.statistics()
    assert (stats.queued, stats.discarded, stats.channels, stats.flushes) == (0, 2, 0, 1)
    assert await layer.group_size("room") == 0
    with anyio.move_on_after(0.05) as scope:
        await layer.receive("jobs")
    assert scope.cancelled_caught


@pytest.mark.anyio
async def test_two_receivers_on_one_channel_each_get_one_message() -> None:
    layer = InMemoryChannelLayer()
    got: list[int] = []

    async def receive_one() -> None:
        got.append((await layer.receive("jobs"))["n"])

    async with anyio.create_task_group() as task_group:
        task_group.start_soon(receive_one)
        task_group.start_soon(receive_one)
        await anyio.wait_all_tasks_blocked()
        await layer.send("jobs", {"type": "job", "n": 1})
        await layer.send("jobs", {"type": "job", "n": 2})
    assert sorted(got) == [1, 2]
    assert layer.statistics().channels == 0


@pytest.mark.anyio
async def test_statistics_snapshot_counts_each_operation() -> None:
    layer = InMemoryChannelLayer(capacity=1)
    member = await layer.new_channel()
    await layer.send("jobs", {"type": "a"})
    with pytest.raises(ChannelFull):
        await layer.send("jobs", {"type": "b"})
    await layer.receive("jobs")
    await layer.group_add("room", member)
    await layer.group_send("room", {"type": "c"})
    await layer.send("specific.gone!1", {"type": "d"})
    registry = current_registry().statistics()
    assert layer.statistics() == InMemoryLayerStatistics(
        registry=registry,
        channels=1,
        channels_created=2,
        channels_removed=1,
        queued=1,
        sends=3,
        receives=1,
        group_sends=1,
        new_channels=1,
        no_receiver=1,
        rejected=1,
        expired=0,
        discarded=0,
        flushes=0,
    )
    assert (registry.mailboxes, registry.memberships, registry.no_receiver) == (1, 1, 1)


# -- bad input --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "must not be empty"),
        ("a!b!c", "may contain at most one '!'"),
        ("chat room", "may contain only ASCII letters"),
        ("x" * 100, "must be shorter than 100 characters"),
        (None, "must be a str, not NoneType"),
    ],
)
async def test_send_to_an_invalid_channel_name_names_the_rule(name: Any, rule: str) -> None:
    layer = InMemoryChannelLayer()
    with pytest.raises(InvalidNameError, match=re.escape(rule)):
        await layer.send(name, {"type": "a"})
    with pytest.raises(InvalidNameError, match=re.escape(rule)):
        await layer.receive(name)
    assert layer.statistics().sends == 0


async def test_invalid_group_name_is_refused_by_every_group_method() -> None:
    layer = InMemoryChannelLayer()
    expected = "Invalid group name 'a!b': may contain only"
    with pytest.raises(InvalidNameError, match=expected):
        await layer.group_add("a!b", "worker")
    with pytest.raises(InvalidNameError, match=expected):
        await layer.group_discard("a!b", "worker")
    with pytest.raises(InvalidNameError, match=expected):
        await layer.group_send("a!b", {"type": "a"})
    with pytest.raises(InvalidNameError, match=expected):
        await layer.group_size("a!b")
    with pytest.raises(InvalidNameError, match=expected):
        await layer.members("a!b")


async def test_group_add_with_an_invalid_channel_name_is_refused() -> None:
    with pytest.raises(InvalidNameError, match="Invalid channel name 'a b'"):
        await InMemoryChannelLayer().group_add("room", "a b")


@pytest.mark.parametrize("message", [["type", "a"], "text", None])
async def test_a_message_that_is_not_a_dict_is_refused(message: Any) -> None:
    layer = InMemoryChannelLayer()
    expected = f"a channel-layer message must be a dict, not {type(message).__name__}"
    with pytest.raises(InvalidMessageError, match=re.escape(expected)):
        await layer.send("jobs", message)
    with pytest.raises(InvalidMessageError, match=re.escape(expected)):
        await layer.group_send("room", message)


async def test_the_asgi_channel_key_is_reserved() -> None:
    layer = InMemoryChannelLayer()
    message = {"type": "a", "__asgi_channel__": "x"}
    with pytest.raises(InvalidMessageError, match="'__asgi_channel__' key is reserved"):
        await layer.send("jobs", message)
    with pytest.raises(InvalidMessageError, match="'__asgi_channel__' key is reserved"):
        await layer.group_send("room", message)


async def test_receive_on_an_unknown_process_local_name_fails_instead_of_hanging() -> None:
    layer = InMemoryChannelLayer()
    with pytest.raises(InvalidNameError, match="no mailbox in this process has that name"):
        await layer.receive("specific.other!abc")


async def test_new_channel_with_a_bad_prefix_is_refused() -> None:
    layer = InMemoryChannelLayer()
    with pytest.raises(InvalidNameError, match="may contain at most one '!'"):
        await layer.new_channel("a!b")
    with pytest.raises(InvalidNameError, match="prefix must be a str, not int"):
        await layer.new_channel(7)  # type: ignore[arg-type]  # proving it is refused


async def test_new_channel_prefix_leads_the_name() -> None:
    name = await InMemoryChannelLayer().new_channel("worker.")
    assert name.startswith("worker.")
    assert ".." not in name


# -- capacity ---------------------------------------------------------------------


async def test_channel_capacity_glob_limits_matching_channels() -> None:
    layer = InMemoryChannelLayer(capacity=5, channel_capacity={"small.*": 1})
    await layer.send("small.one", {"type": "a"})
    with pytest.raises(ChannelFull, match=r"'small.one' is full \(capacity 1\)"):
        await layer.send("small.one", {"type": "b"})
    for _ in range(5):
        await layer.send("large", {"type": "a"})


async def test_channel_capacity_regex_limits_matching_channels() -> None:
    layer = InMemoryChannelLayer(channel_capacity={re.compile(r"^tiny\d"): 2})
    await layer.send("tiny1", {"type": "a"})
    await layer.send("tiny1", {"type": "a"})
    with pytest.raises(ChannelFull, match=r"capacity 2"):
        await layer.send("tiny1", {"type": "a"})


async def test_new_channel_mailbox_takes_its_capacity_from_channel_capacity() -> None:
    layer = InMemoryChannelLayer(channel_capacity={"slow.*": 1})
    name = await layer.new_channel("slow.")
    await layer.send(name, {"type": "a"})
    with pytest.raises(ChannelFull):
        await layer.send(name, {"type": "b"})


async def test_group_send_to_a_full_member_counts_and_does_not_raise() -> None:
    layer = InMemoryChannelLayer(channel_capacity={"slow.*": 1})
    slow, fast = await layer.new_channel("slow."), await layer.new_channel()
    await layer.group_add("room", slow)
    await layer.group_add("room", fast)
    for n in range(3):
        await layer.group_send("room", {"type": "m", "n": n})
    assert [(await layer.receive(fast))["n"] for _ in range(3)] == [0, 1, 2]
    assert await layer.receive(slow) == {"type": "m", "n": 0}
    assert layer.statistics().rejected == 2


async def test_group_member_with_no_mailbox_is_counted() -> None:
    layer = InMemoryChannelLayer()
    await layer.group_add("room", "specific.gone!1")
    await layer.group_send("room", {"type": "m"})
    assert current_registry().statistics().no_receiver == 1


async def test_a_channel_nobody_reads_holds_at_most_capacity_for_at_most_expiry(
    autojump_clock: trio.testing.MockClock,
) -> None:
    layer = InMemoryChannelLayer(capacity=2, expiry=10)
    await layer.send("unread", {"type": "a"})
    await layer.send("unread", {"type": "a"})
    with pytest.raises(ChannelFull):
        await layer.send("unread", {"type": "a"})
    await trio.sleep(11)
    await layer.send("unread", {"type": "b"})  # the expired ones made room
    stats = layer.statistics()
    assert (stats.queued, stats.expired, stats.rejected) == (1, 2, 1)


# -- time -------------------------------------------------------------------------


async def test_a_message_unread_past_expiry_is_expired_and_counted(
    autojump_clock: trio.testing.MockClock,
) -> None:
    layer = InMemoryChannelLayer(expiry=10)
    await layer.send("jobs", {"type": "old"})
    await trio.sleep(11)
    await layer.send("jobs", {"type": "new"})
    assert await layer.receive("jobs") == {"type": "new"}
    assert layer.statistics().expired == 1


async def test_a_message_read_within_expiry_is_delivered(
    autojump_clock: trio.testing.MockClock,
) -> None:
    layer = InMemoryChannelLayer(expiry=10)
    await layer.send("jobs", {"type": "a"})
    await trio.sleep(9.5)
    assert await layer.receive("jobs") == {"type": "a"}


async def test_group_messages_expire_too(autojump_clock: trio.testing.MockClock) -> None:
    layer = InMemoryChannelLayer(expiry=10)
    member = await layer.new_channel()
    await layer.group_add("room", member)
    await layer.group_send("room", {"type": "a"})
    await trio.sleep(11)
    with trio.move_on_after(1):
        await layer.receive(member)
        pytest.fail("an expired group message was delivered")
    assert layer.statistics().expired == 1


async def test_membership_lapses_after_group_expiry(
    autojump_clock: trio.testing.MockClock,
) -> None:
    layer = InMemoryChannelLayer(group_expiry=10)
    member = await layer.new_channel()
    await layer.group_add("room", member)
    await trio.sleep(11)
    await layer.group_send("room", {"type": "a"})
    assert await layer.group_size("room") == 0
    assert layer.statistics().queued == 0
    assert current_registry().statistics().expired_memberships == 1


async def test_group_add_renews_a_membership(autojump_clock: trio.testing.MockClock) -> None:
    layer = InMemoryChannelLayer(group_expiry=10)
    member = await layer.new_channel()
    await layer.group_add("room", member, metadata={"user": "alice"})
    await trio.sleep(8)
    await layer.group_add("room", member, metadata={"user": "alice", "typing": True})
    await trio.sleep(8)
    [membership] = await layer.members("room")
    assert membership.address == member
    assert membership.metadata == {"user": "alice", "typing": True}


async def test_receive_times_out_under_fail_after(autojump_clock: trio.testing.MockClock) -> None:
    layer = InMemoryChannelLayer()
    with pytest.raises(trio.TooSlowError), trio.fail_after(5):
        await layer.receive("idle")
    assert trio.current_time() == pytest.approx(5)
    assert layer.statistics().channels == 0


# -- cancellation -----------------------------------------------------------------


async def test_a_cancelled_receive_loses_nothing() -> None:
    layer = InMemoryChannelLayer()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(layer.receive, "jobs")
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert layer.statistics().channels == 0  # the waiter's channel went with it
    await layer.send("jobs", {"type": "a"})
    assert await layer.receive("jobs") == {"type": "a"}


async def test_a_receive_cancelled_as_its_message_arrives_loses_nothing() -> None:
    layer = InMemoryChannelLayer()
    name = await layer.new_channel()
    got: list[dict[str, Any]] = []
    scope = trio.CancelScope()

    async def receive_one() -> None:
        with scope:
            got.append(await layer.receive(name))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(receive_one)
        await trio.testing.wait_all_tasks_blocked()
        current_registry().send_nowait(name, {"type": "a"})  # wakes the receiver...
        scope.cancel()  # ...and cancels it in the same tick
    if not got:
        with trio.fail_after(1):
            got.append(await layer.receive(name))
    assert got == [{"type": "a"}]


async def test_a_send_cancelled_on_entry_sends_nothing() -> None:
    layer = InMemoryChannelLayer()
    with trio.CancelScope() as scope:
        scope.cancel()
        await layer.send("jobs", {"type": "a"})
    assert scope.cancelled_caught
    stats = layer.statistics()
    assert (stats.sends, stats.channels) == (0, 0)


async def test_every_operation_is_a_checkpoint() -> None:
    layer = InMemoryChannelLayer()
    name = await layer.new_channel()
    await layer.send(name, {"type": "queued"})
    operations: dict[str, Callable[[], Awaitable[object]]] = {
        "send": lambda: layer.send(name, {"type": "a"}),
        "receive": lambda: layer.receive(name),
        "new_channel": layer.new_channel,
        "group_add": lambda: layer.group_add("room", name),
        "group_send": lambda: layer.group_send("room", {"type": "b"}),
        "group_size": lambda: layer.group_size("room"),
        "members": lambda: layer.members("room"),
        "group_discard": lambda: layer.group_discard("room", name),
        "flush": layer.flush,
        "close": layer.close,
    }
    for operation in operations.values():
        with trio.testing.assert_checkpoints():
            await operation()


# -- actors -----------------------------------------------------------------------


async def test_send_and_group_send_reach_a_running_actor() -> None:
    layer = InMemoryChannelLayer()
    actor = Recorder()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(actor.run)
        await trio.testing.wait_all_tasks_blocked()
        assert actor.address is not None
        await layer.send(actor.address, {"type": "chat.message", "text": "direct"})
        await layer.group_add("room", actor.address)
        await layer.group_send("room", {"type": "chat.message", "text": "group"})
        await trio.testing.wait_all_tasks_blocked()
        actor.request_stop()
    assert [m["text"] for m in actor.seen] == ["direct", "group"]
    assert layer.statistics().channels_created == 0  # an actor's mailbox is its own


async def test_a_send_to_an_ended_actor_is_counted_not_raised() -> None:
    layer = InMemoryChannelLayer()
    actor = Recorder()
    with actor.attach():
        address = actor.address
    assert address is not None
    await layer.send(address, {"type": "chat.message"})
    stats = layer.statistics()
    assert (stats.no_receiver, stats.registry.no_receiver, stats.channels) == (1, 1, 0)
    with pytest.raises(InvalidNameError, match="no mailbox in this process"):
        await layer.receive(address)


async def test_receive_on_an_actors_own_address_takes_from_its_mailbox() -> None:
    layer = InMemoryChannelLayer()
    actor = Recorder()
    with actor.attach():
        assert actor.address is not None
        await layer.send(actor.address, {"type": "chat.message", "n": 1})
        assert await layer.receive(actor.address) == {"type": "chat.message", "n": 1}


async def test_receive_on_an_actor_that_stops_ends_with_end_of_stream() -> None:
    layer = InMemoryChannelLayer()
    actor = Recorder()

    async def receive_until_closed(address: str) -> None:
        with pytest.raises(anyio.EndOfStream):
            await layer.receive(address)

    async with trio.open_nursery() as nursery:
        with actor.attach():
            assert actor.address is not None
            nursery.start_soon(receive_until_closed, actor.address)
            await trio.testing.wait_all_tasks_blocked()


async def test_an_actors_overflow_policy_applies_to_layer_sends() -> None:
    class Dropping(Recorder):
        mailbox_capacity: ClassVar[int] = 1

    class Rejecting(Recorder):
        mailbox_capacity: ClassVar[int] = 1
        overflow_policy: ClassVar[OverflowPolicy | str] = "reject"

    layer = InMemoryChannelLayer()
    dropping, rejecting = Dropping(), Rejecting()
    with dropping.attach() as dropping_box, rejecting.attach():
        assert dropping.address is not None
        assert rejecting.address is not None
        await layer.send(dropping.address, {"type": "a"})
        await layer.send(dropping.address, {"type": "b"})  # dropped, counted
        assert dropping_box.statistics().dropped_newest == 1
        await layer.send(rejecting.address, {"type": "a"})
        with pytest.raises(ChannelFull, match=r"capacity 1"):
            await layer.send(rejecting.address, {"type": "b"})


async def test_a_disconnect_overflow_surfaces_as_channel_full_to_a_layer_receiver() -> None:
    class Strict(Recorder):
        mailbox_capacity: ClassVar[int] = 1
        overflow_policy: ClassVar[OverflowPolicy | str] = "disconnect"

    layer = InMemoryChannelLayer()
    actor = Strict()
    with actor.attach():
        assert actor.address is not None
        await layer.send(actor.address, {"type": "a"})
        await layer.send(actor.address, {"type": "b"})
        with pytest.raises(ChannelFull, match=r"is full \(capacity 1\)"):
            await layer.receive(actor.address)
        assert await layer.receive(actor.address) == {"type": "a"}


# -- isolation --------------------------------------------------------------------


async def test_mutating_a_sent_message_does_not_change_the_received_one() -> None:
    layer = InMemoryChannelLayer()
    message: dict[str, Any] = {"type": "a", "items": [1, {"k": "v"}]}
    await layer.send("jobs", message)
    message["type"] = "changed"
    message["items"][1]["k"] = "changed"
    assert await layer.receive("jobs") == {"type": "a", "items": [1, {"k": "v"}]}


async def test_group_members_get_independent_copies() -> None:
    layer = InMemoryChannelLayer()
    alice, bob = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", alice)
    await layer.group_add("room", bob)
    await layer.group_send("room", {"type": "a", "items": [1]})
    got_alice, got_bob = await layer.receive(alice), await layer.receive(bob)
    got_alice["items"].append(2)
    assert got_bob == {"type": "a", "items": [1]}


# -- layer-owned channels ---------------------------------------------------------


async def test_a_drained_general_channel_is_removed() -> None:
    layer = InMemoryChannelLayer()
    await layer.send("jobs", {"type": "a"})
    assert "jobs" in current_registry()
    await layer.receive("jobs")
    stats = layer.statistics()
    assert (stats.channels, stats.channels_created, stats.channels_removed) == (0, 1, 1)
    assert "jobs" not in current_registry()


async def test_counts_survive_a_removed_channel() -> None:
    layer = InMemoryChannelLayer(capacity=1)
    await layer.send("jobs", {"type": "a"})
    with pytest.raises(ChannelFull):
        await layer.send("jobs", {"type": "b"})
    await layer.receive("jobs")
    stats = layer.statistics()
    assert (stats.channels, stats.rejected) == (0, 1)


async def test_a_general_channel_in_a_group_queues_until_it_leaves() -> None:
    layer = InMemoryChannelLayer()
    await layer.group_add("workers", "thumbnails")
    await layer.group_send("workers", {"type": "resize"})
    assert await layer.receive("thumbnails") == {"type": "resize"}
    assert layer.statistics().channels == 1  # kept while a member
    await layer.group_discard("workers", "thumbnails")
    assert layer.statistics().channels == 0


async def test_a_new_channel_mailbox_outlives_being_drained() -> None:
    layer = InMemoryChannelLayer()
    name = await layer.new_channel()
    await layer.send(name, {"type": "a"})
    await layer.receive(name)
    assert name in current_registry()
    assert layer.statistics().channels == 1


async def test_a_new_channel_name_keeps_working_after_flush() -> None:
    layer = InMemoryChannelLayer()
    name = await layer.new_channel()
    await layer.flush()
    assert name not in current_registry()
    await layer.send(name, {"type": "a"})
    assert await layer.receive(name) == {"type": "a"}


async def test_flush_keeps_a_channel_a_receiver_waits_on() -> None:
    layer = InMemoryChannelLayer()
    got: list[dict[str, Any]] = []

    async def receive_one() -> None:
        got.append(await layer.receive("jobs"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(receive_one)
        await trio.testing.wait_all_tasks_blocked()
        await layer.flush()
        await layer.send("jobs", {"type": "after"})
    assert got == [{"type": "after"}]


async def test_flush_empties_actor_mailboxes_but_keeps_them_registered() -> None:
    layer = InMemoryChannelLayer()
    actor = Recorder()
    with actor.attach() as mailbox:
        assert actor.address is not None
        await layer.send(actor.address, {"type": "a"})
        await layer.flush()
        assert (len(mailbox), mailbox.statistics().discarded) == (0, 1)
        assert actor.address in current_registry()


async def test_close_is_safe_to_repeat_and_the_layer_keeps_working() -> None:
    layer = InMemoryChannelLayer()
    await layer.close()
    await layer.close()
    await layer.send("jobs", {"type": "a"})
    assert await layer.receive("jobs") == {"type": "a"}


# -- event loops ------------------------------------------------------------------


def test_one_layer_shared_by_two_event_loops_keeps_them_apart() -> None:
    layer = InMemoryChannelLayer()

    async def send() -> None:
        await layer.send("jobs", {"type": "a"})
        await layer.group_add("room", "jobs")
        assert layer.statistics().queued == 1

    async def look() -> None:
        stats = layer.statistics()
        assert (stats.channels, stats.sends) == (0, 0)
        assert await layer.group_size("room") == 0

    trio.run(send)
    trio.run(look)


# -- property ---------------------------------------------------------------------

_OPERATIONS = st.lists(
    st.sampled_from(["send", "send", "receive", "flush"]) | st.floats(0.1, 15), max_size=40
)


@settings(max_examples=150, deadline=None)
@given(operations=_OPERATIONS, kind=st.sampled_from(["general", "new_channel"]))
def test_every_message_sent_is_received_or_counted(
    operations: list[str | float], kind: str
) -> None:
    async def scenario() -> None:
        layer = InMemoryChannelLayer(capacity=3, expiry=10)
        channel = await layer.new_channel() if kind == "new_channel" else "work.queue"
        accepted: list[int] = []
        received: list[int] = []
        refused = 0
        for number, operation in enumerate(operations):
            if operation == "send":
                try:
                    await layer.send(channel, {"type": "m", "n": number})
                except ChannelFull:
                    refused += 1
                else:
                    accepted.append(number)
            elif operation == "receive":
                with trio.move_on_after(0.5):
                    received.append((await layer.receive(channel))["n"])
            elif operation == "flush":
                await layer.flush()
            else:
                assert isinstance(operation, float)
                await trio.sleep(operation)
        stats = layer.statistics()
        assert received == sorted(set(received))  # in order, each once
        assert set(received) <= set(accepted)
        assert stats.rejected == refused
        assert len(accepted) == len(received) + stats.expired + stats.discarded + stats.queued

    trio.run(scenario, clock=trio.testing.MockClock(autojump_threshold=0))
