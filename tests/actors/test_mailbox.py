"""Tests for ``callboard.actors._mailbox``: bounded queues with named overflow policies."""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
from typing import Any

import anyio
import attrs
import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from callboard.actors import (
    DEFAULT_CAPACITY,
    Mailbox,
    MailboxStatistics,
    Overflowed,
    OverflowPolicy,
    _mailbox,
    open_mailbox,
)
from callboard.actors._ratelog import RateLimitedLog
from callboard.exceptions import ChannelFull


@pytest.fixture(autouse=True)
def fresh_ratelog(monkeypatch: pytest.MonkeyPatch) -> None:
    # The drop log is rate-limited per mailbox name across the process; give
    # every test its own so one test's drops cannot silence another's.
    monkeypatch.setattr(_mailbox, "_ratelog", RateLimitedLog(_mailbox.logger))


def full_mailbox(policy: OverflowPolicy | str, capacity: int = 2, name: str = "m") -> Mailbox:
    mailbox = open_mailbox(name, capacity=capacity, policy=policy)
    for n in range(capacity):
        assert mailbox.send_nowait({"n": n})
    return mailbox


def drain(mailbox: Mailbox) -> list[Any]:
    items = []
    while True:
        try:
            items.append(mailbox.receive_nowait())
        except (anyio.WouldBlock, anyio.EndOfStream):
            return items


def assert_accounted(stats: MailboxStatistics) -> None:
    assert stats.sent == (
        stats.received
        + stats.depth
        + stats.dropped_newest
        + stats.dropped_oldest
        + stats.rejected
        + stats.overflowed
        + stats.expired
        + stats.discarded
    )


# -- construction ----------------------------------------------------------------


def test_open_mailbox_defaults_to_channels_capacity_and_drop_newest() -> None:
    mailbox = open_mailbox("m")
    assert mailbox.name == "m"
    assert mailbox.capacity == DEFAULT_CAPACITY == 100
    assert mailbox.policy is OverflowPolicy.DROP_NEWEST
    assert not mailbox.closed
    assert len(mailbox) == 0


@pytest.mark.parametrize("policy", list(OverflowPolicy))
def test_policy_may_be_given_by_its_string_value(policy: OverflowPolicy) -> None:
    assert open_mailbox("m", policy=policy.value).policy is policy
    assert Mailbox("m", 1, policy.value).policy is policy


def test_unknown_policy_is_refused_listing_the_valid_ones() -> None:
    expected = (
        "Unknown overflow policy 'drop_everything'; use one of "
        "'drop_newest', 'drop_oldest', 'reject', 'disconnect'."
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        open_mailbox("m", policy="drop_everything")


@pytest.mark.parametrize("capacity", [0, -1, True, 1.5, "10", None])
def test_capacity_must_be_a_positive_int(capacity: Any) -> None:
    with pytest.raises(ValueError, match=re.escape(f"positive int, got {capacity!r}")):
        open_mailbox("m", capacity=capacity)


# -- basics, on both backends --------------------------------------------------------


@pytest.mark.anyio
async def test_messages_are_received_in_fifo_order() -> None:
    mailbox = open_mailbox("m", capacity=10)
    for n in range(5):
        assert mailbox.send_nowait({"n": n}) is True
    assert len(mailbox) == 5
    assert [await mailbox.receive() for _ in range(3)] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert drain(mailbox) == [{"n": 3}, {"n": 4}]


@pytest.mark.anyio
async def test_a_message_is_delivered_as_the_same_object() -> None:
    # Isolation copies are the registry's job; the mailbox adds no copy.
    mailbox = open_mailbox("m")
    message = {"type": "t"}
    mailbox.send_nowait(message)
    assert await mailbox.receive() is message


@pytest.mark.anyio
async def test_receive_nowait_on_an_empty_mailbox_would_block() -> None:
    with pytest.raises(anyio.WouldBlock):
        open_mailbox("m").receive_nowait()


@pytest.mark.anyio
async def test_receive_waits_and_is_woken_by_send_nowait() -> None:
    mailbox = open_mailbox("m")
    got: list[Any] = []

    async def receiver() -> None:
        got.append(await mailbox.receive())

    async with anyio.create_task_group() as tg:
        tg.start_soon(receiver)
        await anyio.wait_all_tasks_blocked()
        assert mailbox.statistics().waiting_receivers == 1
        mailbox.send_nowait({"n": 1})
    assert got == [{"n": 1}]
    assert mailbox.statistics().waiting_receivers == 0


@pytest.mark.anyio
async def test_send_with_room_queues_at_once() -> None:
    mailbox = open_mailbox("m", capacity=1)
    await mailbox.send({"n": 1})
    assert mailbox.receive_nowait() == {"n": 1}


@pytest.mark.anyio
async def test_send_waits_for_room_and_is_woken_by_a_receive() -> None:
    mailbox = full_mailbox("drop_newest", capacity=1)
    sent = anyio.Event()

    async def sender() -> None:
        await mailbox.send({"n": "waited"})
        sent.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(sender)
        await anyio.wait_all_tasks_blocked()
        assert not sent.is_set()
        assert mailbox.statistics().waiting_senders == 1
        assert mailbox.receive_nowait() == {"n": 0}
    assert sent.is_set()
    assert mailbox.receive_nowait() == {"n": "waited"}
    assert mailbox.statistics().dropped_newest == 0


@pytest.mark.anyio
async def test_close_keeps_queued_messages_then_ends_the_stream() -> None:
    mailbox = open_mailbox("m")
    mailbox.send_nowait({"n": 1})
    mailbox.close()
    assert mailbox.closed
    assert await mailbox.receive() == {"n": 1}
    with pytest.raises(anyio.EndOfStream):
        await mailbox.receive()
    with pytest.raises(anyio.EndOfStream):
        mailbox.receive_nowait()


@pytest.mark.anyio
async def test_send_to_a_closed_mailbox_is_refused_and_not_counted() -> None:
    mailbox = open_mailbox("inbox")
    mailbox.close()
    with pytest.raises(anyio.BrokenResourceError, match="mailbox 'inbox' is closed"):
        mailbox.send_nowait({"n": 1})
    with pytest.raises(anyio.BrokenResourceError, match="mailbox 'inbox' is closed"):
        await mailbox.send({"n": 1})
    assert mailbox.statistics().sent == 0


@pytest.mark.anyio
async def test_close_is_idempotent() -> None:
    mailbox = open_mailbox("m")
    mailbox.close()
    mailbox.close()
    assert mailbox.statistics().closed


@pytest.mark.anyio
async def test_clear_discards_and_counts_but_leaves_the_mailbox_open() -> None:
    mailbox = full_mailbox("drop_newest", capacity=3)
    assert mailbox.clear() == 3
    assert mailbox.clear() == 0
    stats = mailbox.statistics()
    assert (stats.depth, stats.discarded, stats.closed) == (0, 3, False)
    assert mailbox.send_nowait({"n": "after"})
    assert_accounted(mailbox.statistics())


@pytest.mark.anyio
async def test_discard_closes_and_counts_what_was_queued() -> None:
    mailbox = full_mailbox("drop_newest", capacity=2)
    assert mailbox.discard() == 2
    assert mailbox.closed
    with pytest.raises(anyio.EndOfStream):
        mailbox.receive_nowait()
    stats = mailbox.statistics()
    assert (stats.discarded, stats.undelivered) == (2, 2)
    assert_accounted(stats)


@pytest.mark.anyio
async def test_statistics_snapshot_counts_everything() -> None:
    mailbox = open_mailbox("m", capacity=2, policy="drop_newest")
    mailbox.send_nowait({"n": 1})
    mailbox.send_nowait({"n": 2})
    mailbox.send_nowait({"n": 3})  # dropped
    mailbox.receive_nowait()
    before = mailbox.statistics()
    mailbox.send_nowait({"n": 4})
    assert before == MailboxStatistics(
        name="m",
        capacity=2,
        policy=OverflowPolicy.DROP_NEWEST,
        depth=1,
        peak_depth=2,
        sent=3,
        received=1,
        dropped_newest=1,
        dropped_oldest=0,
        rejected=0,
        overflowed=0,
        expired=0,
        discarded=0,
        waiting_receivers=0,
        waiting_senders=0,
        closed=False,
    )
    assert before.undelivered == 1
    assert mailbox.statistics().sent == 4  # a snapshot, not a live view
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        before.depth = 0  # type: ignore[misc]  # proving it is frozen


# -- overflow policies ------------------------------------------------------------------


def test_drop_newest_keeps_the_queue_and_counts_the_new_message() -> None:
    mailbox = full_mailbox("drop_newest")
    assert mailbox.send_nowait({"n": "new"}) is False
    assert drain(mailbox) == [{"n": 0}, {"n": 1}]
    stats = mailbox.statistics()
    assert stats.dropped_newest == 1
    assert_accounted(stats)


def test_drop_oldest_evicts_the_oldest_to_make_room() -> None:
    mailbox = full_mailbox("drop_oldest")
    assert mailbox.send_nowait({"n": "new"}) is True
    assert drain(mailbox) == [{"n": 1}, {"n": "new"}]
    stats = mailbox.statistics()
    assert stats.dropped_oldest == 1
    assert_accounted(stats)


def test_reject_raises_channel_full_naming_the_address() -> None:
    mailbox = full_mailbox("reject", name="specific.p!7")
    with pytest.raises(
        ChannelFull,
        match=re.escape(
            "Channel 'specific.p!7' is full (capacity 2): its reader is not keeping up."
        ),
    ) as info:
        mailbox.send_nowait({"n": "new"})
    assert (info.value.channel, info.value.capacity) == ("specific.p!7", 2)
    assert drain(mailbox) == [{"n": 0}, {"n": 1}]
    stats = mailbox.statistics()
    assert stats.rejected == 1
    assert_accounted(stats)


def test_disconnect_signals_overflowed_once_ahead_of_the_queue() -> None:
    mailbox = full_mailbox("disconnect", name="slow")
    assert mailbox.send_nowait({"n": "new"}) is False
    assert mailbox.receive_nowait() == Overflowed(address="slow", capacity=2)
    assert mailbox.receive_nowait() == {"n": 0}
    assert mailbox.send_nowait({"n": 2}) is True
    assert mailbox.send_nowait({"n": "again"}) is False
    assert mailbox.send_nowait({"n": "and again"}) is False
    assert drain(mailbox) == [{"n": 1}, {"n": 2}]  # no second signal
    stats = mailbox.statistics()
    assert stats.overflowed == 3
    assert_accounted(stats)


async def test_an_overflow_signal_outlives_clear_and_ends_a_wait() -> None:
    mailbox = full_mailbox("disconnect", name="slow")
    mailbox.send_nowait({"n": "over"})
    mailbox.clear()
    with trio.testing.assert_no_checkpoints():
        await mailbox.wait_nonempty()
    assert await mailbox.receive() == Overflowed(address="slow", capacity=2)


def test_discard_drops_a_pending_overflow_signal() -> None:
    mailbox = full_mailbox("disconnect")
    mailbox.send_nowait({"n": "new"})
    mailbox.discard()
    with pytest.raises(anyio.EndOfStream):
        mailbox.receive_nowait()


async def test_send_ignores_the_policy_and_waits(autojump_clock: trio.testing.MockClock) -> None:
    mailbox = full_mailbox("reject", capacity=1)
    with trio.move_on_after(1) as scope:
        await mailbox.send({"n": "waits"})
    assert scope.cancelled_caught
    assert mailbox.statistics().rejected == 0


def test_drops_are_logged_at_a_bounded_rate(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="callboard.mailbox")
    mailbox = full_mailbox("drop_newest", capacity=1, name="flooded")
    for _ in range(500):
        mailbox.send_nowait({"n": "new"})
    [record] = [r for r in caplog.records if r.name == "callboard.mailbox"]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        "Mailbox 'flooded' (capacity 1, depth 1) dropped a new message (policy drop_newest)."
    )
    assert mailbox.statistics().dropped_newest == 500


@pytest.mark.parametrize(
    ("policy", "what"),
    [
        ("drop_oldest", "evicted its oldest message (policy drop_oldest)"),
        ("reject", "rejected a message (policy reject)"),
        ("disconnect", "overflowed; its owner is told to close (policy disconnect)"),
    ],
)
def test_every_policy_logs_what_it_did(
    caplog: pytest.LogCaptureFixture, policy: str, what: str
) -> None:
    caplog.set_level(logging.WARNING, logger="callboard.mailbox")
    mailbox = full_mailbox(policy, capacity=1, name="m")
    with contextlib.suppress(ChannelFull):
        mailbox.send_nowait({"n": "new"})
    assert [r.getMessage() for r in caplog.records] == [
        f"Mailbox 'm' (capacity 1, depth 1) {what}."
    ]


def test_clear_logs_how_many_were_discarded_at_info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="callboard.mailbox")
    full_mailbox("drop_newest", capacity=3).clear()
    assert [r.getMessage() for r in caplog.records] == [
        "Mailbox 'm' (capacity 3, depth 0) discarded 3 undelivered message(s)."
    ]
    assert caplog.records[0].levelno == logging.INFO


def test_drops_across_many_mailboxes_log_one_line_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="callboard.mailbox")
    for n in range(50):
        full_mailbox("drop_newest", capacity=1, name=f"m{n}").send_nowait({"n": "new"})
    assert len(caplog.records) == 1


# -- expiry -------------------------------------------------------------------------------


async def test_a_message_received_before_its_deadline_is_delivered(
    autojump_clock: trio.testing.MockClock,
) -> None:
    mailbox = open_mailbox("m")
    mailbox.send_nowait({"n": 1}, deadline=trio.current_time() + 10)
    await trio.sleep(9.5)
    assert mailbox.receive_nowait() == {"n": 1}


async def test_a_message_still_queued_at_its_deadline_expires(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="callboard.mailbox")
    mailbox = open_mailbox("m")
    now = trio.current_time()
    mailbox.send_nowait({"n": 1}, deadline=now + 10)
    mailbox.send_nowait({"n": 2}, deadline=now + 10)
    mailbox.send_nowait({"n": 3}, deadline=now + 30)
    mailbox.send_nowait({"n": 4})
    await trio.sleep(10)  # a deadline is inclusive: at it, the message is gone
    assert await mailbox.receive() == {"n": 3}
    await trio.sleep(100)
    assert await mailbox.receive() == {"n": 4}  # no deadline, no expiry
    stats = mailbox.statistics()
    assert (stats.expired, stats.received) == (2, 2)
    assert_accounted(stats)
    assert [r.getMessage() for r in caplog.records] == [
        "Mailbox 'm' (capacity 100, depth 3) expired (a message outlived its expiry unread)."
    ]


async def test_receive_waits_past_only_expired_messages(
    autojump_clock: trio.testing.MockClock,
) -> None:
    mailbox = open_mailbox("m")
    mailbox.send_nowait({"n": 1}, deadline=trio.current_time() + 1)
    await trio.sleep(2)
    with trio.move_on_after(5) as scope:
        await mailbox.receive()
    assert scope.cancelled_caught
    assert mailbox.statistics().expired == 1


async def test_a_full_mailbox_makes_room_by_expiring_overdue_messages(
    autojump_clock: trio.testing.MockClock,
) -> None:
    mailbox = open_mailbox("m", capacity=2, policy="reject")
    mailbox.send_nowait({"n": 1}, deadline=trio.current_time() + 1)
    mailbox.send_nowait({"n": 2})
    await trio.sleep(1)
    assert mailbox.send_nowait({"n": 3}) is True  # no ChannelFull: {"n": 1} expired
    assert drain(mailbox) == [{"n": 2}, {"n": 3}]
    stats = mailbox.statistics()
    assert (stats.expired, stats.rejected) == (1, 0)


async def test_send_waiting_behind_expired_messages_is_woken_by_receive(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Regression: a receive that found only expired messages took them away
    # but did not wake the sender waiting for that room; both then waited
    # for each other forever.
    mailbox = open_mailbox("m", capacity=1)
    mailbox.send_nowait({"n": "stale"}, deadline=trio.current_time() + 5)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(mailbox.send, {"n": "fresh"})
        await trio.testing.wait_all_tasks_blocked()
        await trio.sleep(10)
        with trio.fail_after(1):
            assert await mailbox.receive() == {"n": "fresh"}


async def test_send_making_room_by_expiry_wakes_the_other_waiting_senders(
    autojump_clock: trio.testing.MockClock,
) -> None:
    mailbox = open_mailbox("m", capacity=2)
    now = trio.current_time()
    mailbox.send_nowait({"n": 1}, deadline=now + 5)
    mailbox.send_nowait({"n": 2}, deadline=now + 5)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(mailbox.send, {"n": "waiting"})
        await trio.testing.wait_all_tasks_blocked()
        await trio.sleep(10)
        assert mailbox.send_nowait({"n": "new"})  # expires both, takes one slot
        await trio.testing.wait_all_tasks_blocked()
        assert mailbox.statistics().waiting_senders == 0
    assert drain(mailbox) == [{"n": "new"}, {"n": "waiting"}]


# -- send: cancellation, timeout, owner shutdown, peer closing ----------------------------


async def test_send_cancelled_before_it_starts_queues_nothing() -> None:
    mailbox = open_mailbox("m")
    with trio.CancelScope() as scope:
        scope.cancel()
        await mailbox.send({"n": 1})
    assert len(mailbox) == 0
    assert mailbox.statistics().sent == 0


async def test_send_cancelled_midway_queues_nothing() -> None:
    mailbox = full_mailbox("drop_newest", capacity=1)
    async with trio.open_nursery() as nursery:
        scope = trio.CancelScope()

        async def sender() -> None:
            with scope:
                await mailbox.send({"n": "cancelled"})

        nursery.start_soon(sender)
        await trio.testing.wait_all_tasks_blocked()
        scope.cancel()
    assert mailbox.statistics().waiting_senders == 0
    mailbox.receive_nowait()
    assert drain(mailbox) == []
    stats = mailbox.statistics()
    assert (stats.sent, stats.dropped_newest) == (1, 0)


async def test_send_times_out_without_queuing(autojump_clock: trio.testing.MockClock) -> None:
    mailbox = full_mailbox("drop_newest", capacity=1)
    with pytest.raises(trio.TooSlowError):
        with trio.fail_after(3):
            await mailbox.send({"n": "late"})
    assert trio.current_time() == 3
    assert drain(mailbox) == [{"n": 0}]


async def test_send_stops_when_its_owner_shuts_down() -> None:
    mailbox = full_mailbox("drop_newest", capacity=1)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(mailbox.send, {"n": "never"})
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert drain(mailbox) == [{"n": 0}]
    assert mailbox.statistics().waiting_senders == 0


async def test_close_wakes_a_waiting_sender_with_broken_resource() -> None:
    mailbox = full_mailbox("drop_newest", capacity=1, name="gone")
    async with trio.open_nursery() as nursery:

        async def sender() -> None:
            with pytest.raises(anyio.BrokenResourceError, match="mailbox 'gone' is closed"):
                await mailbox.send({"n": "too late"})

        nursery.start_soon(sender)
        await trio.testing.wait_all_tasks_blocked()
        mailbox.close()
    assert drain(mailbox) == [{"n": 0}]


async def test_clear_wakes_a_waiting_sender() -> None:
    mailbox = full_mailbox("drop_newest", capacity=1)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(mailbox.send, {"n": "in"})
        await trio.testing.wait_all_tasks_blocked()
        mailbox.clear()
    assert drain(mailbox) == [{"n": "in"}]


async def test_every_waiting_sender_gets_in_as_room_appears() -> None:
    mailbox = full_mailbox("drop_newest", capacity=1)
    async with trio.open_nursery() as nursery:
        for n in range(5):
            nursery.start_soon(mailbox.send, {"n": f"s{n}"})
        await trio.testing.wait_all_tasks_blocked()
        received = []
        for _ in range(6):
            received.append(await mailbox.receive())
            await trio.testing.wait_all_tasks_blocked()
    assert received[0] == {"n": 0}
    assert sorted(m["n"] for m in received[1:]) == [f"s{n}" for n in range(5)]
    assert_accounted(mailbox.statistics())


# -- receive: cancellation, timeout, owner shutdown, peer closing --------------------------


async def test_receive_is_a_checkpoint_and_takes_nothing_when_cancelled_first() -> None:
    mailbox = open_mailbox("m")
    mailbox.send_nowait({"n": 1})
    with trio.CancelScope() as scope:
        scope.cancel()
        await mailbox.receive()
    assert scope.cancelled_caught
    assert mailbox.receive_nowait() == {"n": 1}


async def test_receive_cancelled_midway_takes_nothing() -> None:
    mailbox = open_mailbox("m")
    async with trio.open_nursery() as nursery:
        scope = trio.CancelScope()

        async def receiver() -> None:
            with scope:
                await mailbox.receive()
            raise AssertionError("unreachable")  # pragma: no cover

        nursery.start_soon(receiver)
        await trio.testing.wait_all_tasks_blocked()
        scope.cancel()
        nursery.cancel_scope.cancel()
    assert mailbox.statistics().waiting_receivers == 0
    mailbox.send_nowait({"n": 1})
    assert mailbox.receive_nowait() == {"n": 1}


async def test_receive_times_out(autojump_clock: trio.testing.MockClock) -> None:
    mailbox = open_mailbox("m")
    with pytest.raises(trio.TooSlowError):
        with trio.fail_after(2):
            await mailbox.receive()
    assert trio.current_time() == 2
    assert mailbox.statistics().waiting_receivers == 0


async def test_receive_stops_when_its_owner_shuts_down() -> None:
    mailbox = open_mailbox("m")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(mailbox.receive)
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    mailbox.send_nowait({"n": 1})
    assert mailbox.statistics().received == 0


async def test_close_wakes_waiting_receivers_with_end_of_stream() -> None:
    mailbox = open_mailbox("m")
    ended = 0

    async def receiver() -> None:
        nonlocal ended
        with pytest.raises(anyio.EndOfStream):
            await mailbox.receive()
        ended += 1

    async with trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(receiver)
        await trio.testing.wait_all_tasks_blocked()
        mailbox.close()
    assert ended == 3


async def test_multiple_receivers_share_messages_without_losing_a_wakeup() -> None:
    mailbox = open_mailbox("layer.channel")
    got: dict[int, list[Any]] = {r: [] for r in range(4)}

    async def receiver(r: int) -> None:
        while True:
            try:
                got[r].append(await mailbox.receive())
            except anyio.EndOfStream:
                return

    async with trio.open_nursery() as nursery:
        for r in got:
            nursery.start_soon(receiver, r)
        await trio.testing.wait_all_tasks_blocked()
        for n in range(10):
            mailbox.send_nowait({"n": n})
            await trio.testing.wait_all_tasks_blocked()
            assert len(mailbox) == 0  # someone took it; nobody slept through it
        for n in range(10, 20):  # a burst: still each message to exactly one
            mailbox.send_nowait({"n": n})
        await trio.testing.wait_all_tasks_blocked()
        mailbox.close()
    delivered = sorted(m["n"] for messages in got.values() for m in messages)
    assert delivered == list(range(20))


async def test_a_receiver_cancelled_as_it_is_woken_loses_no_message() -> None:
    mailbox = open_mailbox("m")
    results: list[Any] = []
    scopes = [trio.CancelScope(), trio.CancelScope()]

    async def receiver(scope: trio.CancelScope) -> None:
        with scope:
            results.append(await mailbox.receive())

    async with trio.open_nursery() as nursery:
        for scope in scopes:
            nursery.start_soon(receiver, scope)
        await trio.testing.wait_all_tasks_blocked()
        mailbox.send_nowait({"n": 1})
        scopes[0].cancel()
        await trio.testing.wait_all_tasks_blocked()
        mailbox.send_nowait({"n": 2})
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert sorted(m["n"] for m in results + drain(mailbox)) == [1, 2]


# -- wait_nonempty: cancellation, timeout, owner shutdown, peer closing --------------------


async def test_wait_nonempty_returns_at_once_without_a_checkpoint_when_queued() -> None:
    mailbox = open_mailbox("m")
    mailbox.send_nowait({"n": 1})
    with trio.testing.assert_no_checkpoints():
        await mailbox.wait_nonempty()
    assert len(mailbox) == 1  # it takes nothing


async def test_wait_nonempty_wakes_on_a_message() -> None:
    mailbox = open_mailbox("m")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(mailbox.wait_nonempty)
        await trio.testing.wait_all_tasks_blocked()
        assert mailbox.statistics().waiting_receivers == 1
        mailbox.send_nowait({"n": 1})
    assert len(mailbox) == 1


async def test_wait_nonempty_cancelled_midway_leaves_no_trace() -> None:
    mailbox = open_mailbox("m")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(mailbox.wait_nonempty)
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert mailbox.statistics().waiting_receivers == 0
    mailbox.send_nowait({"n": 1})
    assert mailbox.receive_nowait() == {"n": 1}


async def test_wait_nonempty_times_out(autojump_clock: trio.testing.MockClock) -> None:
    mailbox = open_mailbox("m")
    with trio.move_on_after(4) as scope:
        await mailbox.wait_nonempty()
    assert scope.cancelled_caught
    assert trio.current_time() == 4


async def test_wait_nonempty_returns_when_closed() -> None:
    mailbox = open_mailbox("m")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(mailbox.wait_nonempty)
        await trio.testing.wait_all_tasks_blocked()
        mailbox.close()
    with pytest.raises(anyio.EndOfStream):
        mailbox.receive_nowait()


# -- the accounting property ---------------------------------------------------------------


@attrs.define
class Ledger:
    """What the test saw happen to every message it offered."""

    deadlines: dict[int, float | None] = attrs.Factory(dict)
    queued: list[int] = attrs.Factory(list)  # in queue order
    not_queued: list[int] = attrs.Factory(list)  # send_nowait returned False
    rejected: list[int] = attrs.Factory(list)  # ChannelFull
    received: list[int] = attrs.Factory(list)
    signals: int = 0
    discarded: bool = False
    pending: list[int] = attrs.Factory(list)  # the background sender's message


async def run_operations(
    policy: OverflowPolicy, capacity: int, ops: list[tuple[Any, ...]], *, timed: bool
) -> tuple[Mailbox, Ledger]:
    """Apply ``ops`` to a fresh mailbox, then close and drain it."""
    mailbox = open_mailbox("property", capacity=capacity, policy=policy)
    ledger = Ledger()
    ids = itertools.count()

    def new(offset: int | None) -> tuple[int, float | None]:
        i = next(ids)
        deadline = None if offset is None else anyio.current_time() + offset
        ledger.deadlines[i] = deadline
        return i, deadline

    def take(item: Any) -> None:
        if isinstance(item, Overflowed):
            assert item == Overflowed(address="property", capacity=capacity)
            ledger.signals += 1
            return
        deadline = ledger.deadlines[item]
        assert deadline is None or deadline > anyio.current_time(), "delivered after expiry"
        ledger.received.append(item)

    async def background_send(i: int, deadline: float | None) -> None:
        try:
            await mailbox.send(i, deadline=deadline)
        except anyio.BrokenResourceError:
            pass
        else:
            ledger.queued.append(i)
        finally:
            ledger.pending.remove(i)

    def patience(seconds: int) -> contextlib.AbstractContextManager[Any]:
        return anyio.move_on_after(seconds) if timed else contextlib.nullcontext()

    async with anyio.create_task_group() as tg:
        for op in ops:
            name = op[0]
            would_block = len(mailbox) >= capacity and not mailbox.closed
            if name == "send" and would_block and not timed:
                name = "background_send"
            if name == "send_nowait":
                i, deadline = new(op[1])
                if mailbox.closed:
                    with pytest.raises(anyio.BrokenResourceError, match="is closed"):
                        mailbox.send_nowait(i, deadline=deadline)
                    continue
                try:
                    queued = mailbox.send_nowait(i, deadline=deadline)
                except ChannelFull:
                    ledger.rejected.append(i)
                else:
                    (ledger.queued if queued else ledger.not_queued).append(i)
            elif name == "send":
                i, deadline = new(op[1])
                position = len(ledger.queued)
                with patience(op[2]), contextlib.suppress(anyio.BrokenResourceError):
                    await mailbox.send(i, deadline=deadline)
                    # The background sender may have recorded its message,
                    # queued after this one, while send() checkpointed.
                    ledger.queued.insert(position, i)
            elif name == "background_send":
                if not ledger.pending:
                    i, deadline = new(op[1])
                    ledger.pending.append(i)
                    tg.start_soon(background_send, i, deadline)
            elif name == "receive_nowait":
                with contextlib.suppress(anyio.WouldBlock, anyio.EndOfStream):
                    take(mailbox.receive_nowait())
            elif name == "receive":
                if timed or len(mailbox) or mailbox.closed:
                    with patience(op[1]), contextlib.suppress(anyio.EndOfStream):
                        take(await mailbox.receive())
            elif name == "advance":
                if timed:
                    await anyio.sleep(op[1])
            elif name == "clear":
                mailbox.clear()
            elif name == "close":
                mailbox.close()
            elif name == "discard":
                mailbox.discard()
                ledger.discarded = True
            else:  # pragma: no cover
                raise AssertionError(op)
            await anyio.wait_all_tasks_blocked()
            if ledger.pending:  # a sender waits only while there is no room
                assert len(mailbox) >= capacity
                assert not mailbox.closed
        mailbox.close()
        await anyio.wait_all_tasks_blocked()
    while True:
        try:
            take(mailbox.receive_nowait())
        except anyio.EndOfStream:
            break
    return mailbox, ledger


def check_nothing_lost(mailbox: Mailbox, ledger: Ledger) -> None:
    stats = mailbox.statistics()
    assert stats.depth == 0
    assert stats.closed
    assert (stats.waiting_senders, stats.waiting_receivers) == (0, 0)
    assert_accounted(stats)

    offered = ledger.queued + ledger.not_queued + ledger.rejected
    assert stats.sent == len(offered) == len(set(offered))
    assert stats.received == len(ledger.received) == len(set(ledger.received))
    # Not counted as undelivered at the door ...
    assert len(ledger.not_queued) == stats.dropped_newest + stats.overflowed
    assert len(ledger.rejected) == stats.rejected
    # ... so queued, and then either received or counted on the way out.
    received = set(ledger.received)
    assert received <= set(ledger.queued)
    lost = [i for i in ledger.queued if i not in received]
    assert len(lost) == stats.dropped_oldest + stats.expired + stats.discarded
    assert stats.expired <= sum(ledger.deadlines[i] is not None for i in lost)
    # FIFO: the received messages are the queued ones, in queue order.
    assert ledger.received == [i for i in ledger.queued if i in received]

    policy_counter = {
        OverflowPolicy.DROP_NEWEST: "dropped_newest",
        OverflowPolicy.DROP_OLDEST: "dropped_oldest",
        OverflowPolicy.REJECT: "rejected",
        OverflowPolicy.DISCONNECT: "overflowed",
    }[stats.policy]
    for counter in {"dropped_newest", "dropped_oldest", "rejected", "overflowed"} - {
        policy_counter
    }:
        assert getattr(stats, counter) == 0, f"{counter} counted under {stats.policy}"
    if stats.overflowed == 0:
        assert ledger.signals == 0
    elif not ledger.discarded:
        assert ledger.signals == 1
    assert ledger.signals <= 1


DEADLINES = st.one_of(st.none(), st.integers(-1, 6))
_SEND_NOWAIT = st.tuples(st.just("send_nowait"), DEADLINES)
_RECEIVE_NOWAIT = st.tuples(st.just("receive_nowait"))
_BACKGROUND_SEND = st.tuples(st.just("background_send"), DEADLINES)
_ADVANCE = st.tuples(st.just("advance"), st.integers(1, 4))
TIMED_OPS = st.one_of(
    _SEND_NOWAIT,
    _RECEIVE_NOWAIT,
    _BACKGROUND_SEND,
    _ADVANCE,
    st.tuples(st.just("send"), DEADLINES, st.integers(1, 3)),
    st.tuples(st.just("receive"), st.integers(1, 3)),
    _SEND_NOWAIT,
    _BACKGROUND_SEND,
    _ADVANCE,
    _SEND_NOWAIT,
    _RECEIVE_NOWAIT,
    st.tuples(st.just("clear")),
    st.tuples(st.sampled_from(["close", "discard"])),
)
UNTIMED_OPS = st.one_of(
    st.tuples(st.just("send_nowait"), st.none()),
    st.tuples(st.just("receive_nowait")),
    st.tuples(st.just("send"), st.none(), st.just(0)),
    st.tuples(st.just("receive"), st.just(0)),
    st.tuples(st.just("clear")),
    st.tuples(st.sampled_from(["close", "discard"])),
)


@settings(max_examples=500, deadline=None)
@given(
    policy=st.sampled_from(OverflowPolicy),
    capacity=st.integers(1, 5),
    ops=st.lists(TIMED_OPS, max_size=40),
)
@example(  # a sender blocked behind messages that expire before a receive
    policy=OverflowPolicy.DROP_NEWEST,
    capacity=1,
    ops=[("send_nowait", 1), ("background_send", None), ("advance", 2), ("receive_nowait",)],
)
def test_every_message_is_received_or_counted_on_trio(
    policy: OverflowPolicy, capacity: int, ops: list[tuple[Any, ...]]
) -> None:
    async def main() -> tuple[Mailbox, Ledger]:
        return await run_operations(policy, capacity, ops, timed=True)

    mailbox, ledger = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    check_nothing_lost(mailbox, ledger)


@pytest.mark.anyio
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy=st.sampled_from(OverflowPolicy),
    capacity=st.integers(1, 4),
    ops=st.lists(UNTIMED_OPS, max_size=30),
)
async def test_every_message_is_received_or_counted_on_any_backend(
    policy: OverflowPolicy, capacity: int, ops: list[tuple[Any, ...]]
) -> None:
    mailbox, ledger = await run_operations(policy, capacity, ops, timed=False)
    check_nothing_lost(mailbox, ledger)


async def test_take_while_nowait_receives_matching_messages_from_the_front_only() -> None:
    mailbox = open_mailbox("specific.test!take", capacity=10)
    for kind in ("bye", "bye", "keep", "bye"):
        mailbox.send_nowait({"type": kind})
    assert mailbox.take_while_nowait(lambda m: m["type"] == "bye") == 2
    stats = mailbox.statistics()
    assert (stats.received, stats.depth, stats.discarded) == (2, 2, 0)
    assert mailbox.receive_nowait() == {"type": "keep"}
