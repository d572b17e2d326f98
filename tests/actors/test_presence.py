"""Presence in the registry: present members, their join and leave events, however they leave."""

from __future__ import annotations

import time
from typing import Any

import trio
import trio.testing

from callboard.actors import (
    MAX_NAME_LENGTH,
    PRESENCE_EVENT,
    Actor,
    PresenceMember,
    current_registry,
    presence_event,
    presence_events_group,
)


class Watcher(Actor):
    """Keeps the presence events it receives."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def callboard_presence(self, message: dict[str, Any]) -> None:
        self.events.append(message)


class Idle(Actor):
    """A member that only exists."""


def changes(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Each event's joins and leaves as (change, address) pairs, in order."""
    return [
        (change, member["address"])
        for event in events
        for change in ("leave", "join")
        for member in event[f"{change}s"]
    ]


async def running(nursery: trio.Nursery, *actors: Actor) -> list[str]:
    for actor in actors:
        nursery.start_soon(actor.run)
    await trio.testing.wait_all_tasks_blocked()
    return [actor.address for actor in actors if actor.address is not None]


def test_the_events_group_names_its_group_and_stays_a_valid_name() -> None:
    assert presence_events_group("lobby") == "callboard.presence.lobby"
    long = "g" * (MAX_NAME_LENGTH - 1)
    hashed = presence_events_group(long)
    assert hashed.startswith("callboard.presence.")
    assert len(hashed) < MAX_NAME_LENGTH
    assert hashed == presence_events_group(long)
    assert hashed != presence_events_group("h" * (MAX_NAME_LENGTH - 1))


def test_a_presence_event_is_a_diff_of_plain_dicts() -> None:
    alice = PresenceMember(address="a!1", metadata={"name": "alice"}, joined_at=12.5)
    event = presence_event("lobby", joins=[alice])
    assert event == {
        "type": PRESENCE_EVENT,
        "group": "lobby",
        "joins": [{"address": "a!1", "metadata": {"name": "alice"}, "joined_at": 12.5}],
        "leaves": [],
    }
    assert PresenceMember.from_message(event["joins"][0]) == alice


async def test_only_members_with_metadata_are_present(nursery: trio.Nursery) -> None:
    registry = current_registry()
    alice, bob = await running(nursery, Idle(), Idle())
    registry.group_add("room", alice, metadata={})
    registry.group_add("room", bob)
    assert [m.address for m in registry.presence("room")] == [alice]
    assert registry.presence("room")[0].metadata == {}
    assert abs(registry.presence("room")[0].joined_at - time.time()) < 5
    nursery.cancel_scope.cancel()


async def test_watchers_get_joins_and_leaves_however_a_member_leaves(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    registry = current_registry()
    registry.group_expiry = 100
    watcher, leaver, ender, expirer = Watcher(), Idle(), Idle(), Idle()
    w, a, b, c = await running(nursery, watcher, leaver, ender, expirer)
    registry.group_add(presence_events_group("room"), w)
    registry.group_add("room", c, metadata={"n": 3})
    await trio.sleep(60)
    registry.group_add(presence_events_group("room"), w)  # renewed; c's membership is not
    registry.group_add("room", a, metadata={"n": 1})
    registry.group_add("room", b, metadata={"n": 2})
    registry.group_discard("room", a)  # discarded
    ender.request_stop()  # its actor ends
    await trio.sleep(50)
    assert registry.presence("room") == []  # c lapsed (group_expiry)
    await trio.testing.wait_all_tasks_blocked()
    assert changes(watcher.events) == [
        ("join", c),
        ("join", a),
        ("join", b),
        ("leave", a),
        ("leave", b),
        ("leave", c),
    ]
    nursery.cancel_scope.cancel()


async def test_rejoining_without_metadata_ends_presence(nursery: trio.Nursery) -> None:
    registry = current_registry()
    watcher = Watcher()
    w, a = await running(nursery, watcher, Idle())
    registry.group_add(presence_events_group("room"), w)
    registry.group_add("room", a, metadata={"name": "alice"})
    registry.group_add("room", a, metadata={"name": "alice", "away": True})
    registry.group_add("room", a)
    await trio.testing.wait_all_tasks_blocked()
    assert changes(watcher.events) == [("join", a), ("join", a), ("leave", a)]
    assert watcher.events[1]["joins"][0]["metadata"] == {"name": "alice", "away": True}
    assert registry.presence("room") == []
    assert registry.group_size("room") == 1
    nursery.cancel_scope.cancel()


async def test_a_watcher_that_ends_is_not_sent_its_own_leave(nursery: trio.Nursery) -> None:
    registry = current_registry()
    watcher = Watcher()
    (w,) = await running(nursery, watcher)
    registry.group_add(presence_events_group("room"), w)
    registry.group_add("room", w, metadata={"name": "me"})
    await trio.testing.wait_all_tasks_blocked()
    watcher.request_stop()
    await trio.testing.wait_all_tasks_blocked()
    assert registry.mailbox_totals().discarded == 0
    assert registry.presence("room") == []


async def test_nothing_is_sent_when_nobody_watches(nursery: trio.Nursery) -> None:
    registry = current_registry()
    (a,) = await running(nursery, Idle())
    registry.group_add("room", a, metadata={"name": "alice"})
    registry.group_discard("room", a)
    assert registry.statistics().group_sends == 0
    nursery.cancel_scope.cancel()
