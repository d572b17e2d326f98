"""Tests for ``callboard.actors._registry``: addresses to mailboxes, groups to members."""

from __future__ import annotations

import logging
import re
from typing import Any

import anyio
import pytest
import trio
import trio.testing

from callboard.actors import (
    DEFAULT_CAPACITY,
    Membership,
    OverflowPolicy,
    Registry,
    RegistryStatistics,
    _registry,
    new_address,
)
from callboard.actors._ratelog import RateLimitedLog
from callboard.exceptions import ChannelFull, InvalidNameError


@pytest.fixture(autouse=True)
def fresh_ratelog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_registry, "_ratelog", RateLimitedLog(_registry.logger))


def drain(registry: Registry, address: str) -> list[Any]:
    mailbox = registry.lookup(address)
    assert mailbox is not None
    items = []
    while True:
        try:
            items.append(mailbox.receive_nowait())
        except (anyio.WouldBlock, anyio.EndOfStream):
            return items


# -- mailboxes ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_register_creates_a_mailbox_with_the_given_capacity_and_policy() -> None:
    registry = Registry()
    mailbox = registry.register("a", capacity=3, policy="reject")
    assert (mailbox.name, mailbox.capacity, mailbox.policy) == ("a", 3, OverflowPolicy.REJECT)
    assert registry.lookup("a") is mailbox
    assert "a" in registry
    assert registry.addresses() == ["a"]


@pytest.mark.anyio
async def test_register_defaults_to_channels_capacity_and_drop_newest() -> None:
    mailbox = Registry().register("a")
    assert (mailbox.capacity, mailbox.policy) == (DEFAULT_CAPACITY, OverflowPolicy.DROP_NEWEST)


@pytest.mark.anyio
async def test_register_refuses_an_address_in_use() -> None:
    registry = Registry()
    registry.register("a")
    with pytest.raises(KeyError, match=re.escape("Address 'a' is already registered.")):
        registry.register("a")


@pytest.mark.anyio
async def test_register_refuses_an_invalid_address() -> None:
    with pytest.raises(InvalidNameError, match=re.escape("Invalid channel name 'a b'")):
        Registry().register("a b")


@pytest.mark.anyio
async def test_an_unregistered_address_leaves_the_valid_name_cache() -> None:
    # Addresses are never reused: a server of short connections would otherwise
    # fill the cache (up to 100,000 names) with ended ones.
    from callboard.actors import _address

    registry = Registry()
    address = new_address()
    registry.register(address)
    assert address in _address._valid_channels
    registry.unregister(address)
    assert address not in _address._valid_channels


async def test_ensure_creates_once_then_returns_the_same_mailbox() -> None:
    registry = Registry()
    first = registry.ensure("a", capacity=5)
    assert registry.ensure("a", capacity=50) is first
    assert first.capacity == 5


@pytest.mark.anyio
async def test_unregister_closes_discards_counts_and_leaves_groups() -> None:
    registry = Registry()
    mailbox = registry.register("a")
    registry.register("b")
    registry.group_add("g1", "a")
    registry.group_add("g2", "a")
    registry.group_add("g2", "b")
    registry.send_nowait("a", {"type": "t", "n": 1})
    registry.send_nowait("a", {"type": "t", "n": 2})
    assert registry.unregister("a") == 2
    assert "a" not in registry
    assert mailbox.closed
    assert mailbox.statistics().discarded == 2
    assert registry.groups_of("a") == frozenset()
    assert [m.address for m in registry.members("g2")] == ["b"]
    assert registry.members("g1") == []
    assert registry.statistics().groups == 1


@pytest.mark.anyio
async def test_unregister_of_an_unknown_address_is_a_no_op() -> None:
    assert Registry().unregister("nobody") == 0


# -- point-to-point sends ------------------------------------------------------------------


@pytest.mark.anyio
async def test_send_nowait_delivers_an_isolated_copy() -> None:
    registry = Registry()
    registry.register("a")
    message: dict[str, Any] = {"type": "t", "items": [1]}
    assert registry.send_nowait("a", message) is True
    message["items"].append(2)
    [delivered] = drain(registry, "a")
    assert delivered == {"type": "t", "items": [1]}
    assert delivered is not message


@pytest.mark.anyio
async def test_send_nowait_to_an_unknown_address_counts_no_receiver(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="callboard.registry")
    registry = Registry()
    for _ in range(3):
        assert registry.send_nowait("gone", {"type": "t"}) is False
    stats = registry.statistics()
    assert (stats.sends, stats.no_receiver) == (3, 3)
    assert [r.getMessage() for r in caplog.records] == [
        "No mailbox at 'gone': message not delivered (its actor has ended)."
    ]


@pytest.mark.anyio
async def test_send_nowait_to_a_closed_mailbox_counts_no_receiver() -> None:
    registry = Registry()
    registry.register("a").close()
    assert registry.send_nowait("a", {"type": "t"}) is False
    assert registry.statistics().no_receiver == 1


@pytest.mark.anyio
async def test_send_nowait_applies_the_mailbox_policy() -> None:
    registry = Registry()
    mailbox = registry.register("a", capacity=1)
    assert registry.send_nowait("a", {"type": "t"}) is True
    assert registry.send_nowait("a", {"type": "t"}) is False
    assert mailbox.statistics().dropped_newest == 1
    assert registry.statistics().no_receiver == 0


@pytest.mark.anyio
async def test_send_nowait_raises_channel_full_to_a_point_to_point_sender() -> None:
    registry = Registry()
    address = new_address()
    registry.register(address, capacity=1, policy="reject")
    registry.send_nowait(address, {"type": "t"})
    with pytest.raises(ChannelFull, match=re.escape(f"Channel {address!r} is full (capacity 1)")):
        registry.send_nowait(address, {"type": "t"})


async def test_send_nowait_passes_the_deadline_on(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()
    registry.register("a")
    registry.send_nowait("a", {"type": "t"}, deadline=trio.current_time() + 5)
    await trio.sleep(5)
    assert drain(registry, "a") == []
    mailbox = registry.lookup("a")
    assert mailbox is not None
    assert mailbox.statistics().expired == 1


# -- groups ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_members_are_listed_in_join_order_with_their_metadata() -> None:
    registry = Registry()
    now = anyio.current_time()
    registry.group_add("g", "c")
    registry.group_add("g", "a", metadata={"user": "ann"})
    registry.group_add("g", "b")
    members = registry.members("g")
    assert [m.address for m in members] == ["c", "a", "b"]
    assert members[1].metadata == {"user": "ann"}
    assert members[0].metadata is None
    assert all(now <= m.joined_at <= anyio.current_time() for m in members)
    assert registry.group_size("g") == 3
    assert registry.groups_of("a") == frozenset({"g"})


@pytest.mark.anyio
async def test_rejoining_moves_a_member_to_the_end_and_renews_its_metadata() -> None:
    registry = Registry()
    for address in ("a", "b", "c"):
        registry.group_add("g", address)
    registry.group_add("g", "a", metadata={"status": "away"})
    assert [m.address for m in registry.members("g")] == ["b", "c", "a"]
    assert registry.members("g")[-1].metadata == {"status": "away"}
    assert registry.group_size("g") == 3


@pytest.mark.anyio
async def test_group_discard_removes_one_member_and_empty_groups_vanish() -> None:
    registry = Registry()
    registry.group_add("g", "a")
    registry.group_add("g", "b")
    registry.group_discard("g", "a")
    registry.group_discard("g", "a")  # not a member any more: nothing happens
    registry.group_discard("other", "b")  # no such group: nothing happens
    assert [m.address for m in registry.members("g")] == ["b"]
    assert registry.groups_of("a") == frozenset()
    registry.group_discard("g", "b")
    assert registry.statistics().groups == 0
    assert registry.group_size("g") == 0


@pytest.mark.anyio
async def test_leave_all_removes_an_address_from_every_group() -> None:
    registry = Registry()
    for group in ("g1", "g2", "g3"):
        registry.group_add(group, "a")
    registry.group_add("g2", "b")
    registry.leave_all("a")
    assert registry.groups_of("a") == frozenset()
    assert registry.statistics().memberships == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.group_add("bad group", "a"),
        lambda r: r.group_discard("bad group", "a"),
        lambda r: r.members("bad group"),
        lambda r: r.group_send_nowait("bad group", {"type": "t"}),
    ],
    ids=["group_add", "group_discard", "members", "group_send_nowait"],
)
async def test_group_operations_validate_the_group_name(call: Any) -> None:
    with pytest.raises(InvalidNameError, match=re.escape("Invalid group name 'bad group'")):
        call(Registry())


@pytest.mark.parametrize(
    "call",
    [lambda r: r.group_add("g", "a b"), lambda r: r.group_discard("g", "a b")],
    ids=["group_add", "group_discard"],
)
async def test_group_membership_validates_the_address(call: Any) -> None:
    with pytest.raises(InvalidNameError, match=re.escape("Invalid channel name 'a b'")):
        call(Registry())


async def test_memberships_lapse_after_group_expiry(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry(group_expiry=10)
    registry.register("a")
    registry.register("b")
    registry.group_add("g", "a")
    await trio.sleep(5)
    registry.group_add("g", "b")
    await trio.sleep(5)
    assert registry.group_size("g") == 2  # exactly at the expiry: still a member
    await trio.sleep(0.5)
    assert [m.address for m in registry.members("g")] == ["b"]
    assert registry.groups_of("a") == frozenset()
    assert registry.group_send_nowait("g", {"type": "t"}) == 1
    assert drain(registry, "a") == []
    await trio.sleep(5)
    assert registry.group_send_nowait("g", {"type": "t"}) == 0
    stats = registry.statistics()
    assert (stats.expired_memberships, stats.groups, stats.memberships) == (2, 0, 0)


async def test_rejoining_renews_a_membership(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry(group_expiry=10)
    registry.group_add("g", "a")
    registry.group_add("g", "b")
    await trio.sleep(8)
    registry.group_add("g", "a")
    await trio.sleep(8)
    assert [m.address for m in registry.members("g")] == ["a"]
    assert registry.members("g")[0].joined_at == 8


def test_default_group_expiry_is_channels_day() -> None:
    assert Registry().group_expiry == 86_400


# -- group sends ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_group_send_reaches_every_member_in_join_order() -> None:
    registry = Registry()
    for address in ("c", "a", "b"):
        registry.register(address)
        registry.group_add("g", address)
    assert registry.group_send_nowait("g", {"type": "t"}) == 3
    assert all(drain(registry, a) == [{"type": "t"}] for a in ("a", "b", "c"))
    stats = registry.statistics()
    assert (stats.group_sends, stats.group_deliveries) == (1, 3)


@pytest.mark.anyio
async def test_group_send_to_1000_members_delivers_isolated_copies() -> None:
    registry = Registry()
    addresses = [f"member.{n}" for n in range(1000)]
    for address in addresses:
        registry.register(address)
        registry.group_add("crowd", address)
    message: dict[str, Any] = {"type": "chat.message", "payload": {"tags": ["a"]}, "n": 1}
    assert registry.group_send_nowait("crowd", message) == 1000
    message["payload"]["tags"].append("sender")  # the sender mutates after sending
    message["n"] = 2
    copies = [drain(registry, a)[0] for a in addresses]
    copies[0]["payload"]["tags"].append("member 0")  # one member mutates its copy
    copies[0]["n"] = 3
    assert all(
        c == {"type": "chat.message", "payload": {"tags": ["a"]}, "n": 1} for c in copies[1:]
    )
    assert message == {"type": "chat.message", "payload": {"tags": ["a", "sender"]}, "n": 2}
    assert len({id(c) for c in copies}) == 1000
    assert len({id(c["payload"]["tags"]) for c in copies}) == 1000


@pytest.mark.anyio
async def test_flat_group_message_copies_are_independent() -> None:
    registry = Registry()
    for address in ("a", "b"):
        registry.register(address)
        registry.group_add("g", address)
    message = {"type": "t", "text": "hi"}
    registry.group_send_nowait("g", message)
    message["text"] = "changed"
    [first] = drain(registry, "a")
    first["text"] = "mine"
    assert drain(registry, "b") == [{"type": "t", "text": "hi"}]


@pytest.mark.anyio
async def test_group_send_never_raises_for_a_full_reject_member_and_counts_it() -> None:
    registry = Registry()
    full = registry.register("full", capacity=1, policy="reject")
    registry.register("ok")
    registry.group_add("g", "full")
    registry.group_add("g", "ok")
    registry.send_nowait("full", {"type": "t"})
    assert registry.group_send_nowait("g", {"type": "t"}) == 1
    assert full.statistics().rejected == 1
    assert drain(registry, "ok") == [{"type": "t"}]
    assert registry.statistics().group_deliveries == 1


@pytest.mark.anyio
async def test_group_send_applies_each_members_policy() -> None:
    registry = Registry()
    full = registry.register("full", capacity=1)
    oldest = registry.register("oldest", capacity=1, policy="drop_oldest")
    for address in ("full", "oldest"):
        registry.send_nowait(address, {"type": "t", "n": 0})
        registry.group_add("g", address)
    assert registry.group_send_nowait("g", {"type": "t", "n": 1}) == 1
    assert full.statistics().dropped_newest == 1
    assert oldest.statistics().dropped_oldest == 1
    assert drain(registry, "full") == [{"type": "t", "n": 0}]
    assert drain(registry, "oldest") == [{"type": "t", "n": 1}]


@pytest.mark.anyio
async def test_group_send_counts_members_without_a_mailbox_as_no_receiver() -> None:
    registry = Registry()
    registry.register("alive")
    registry.register("closed").close()
    for address in ("alive", "closed", "never.registered"):
        registry.group_add("g", address)
    assert registry.group_send_nowait("g", {"type": "t"}) == 1
    assert registry.statistics().no_receiver == 2
    # Channels keeps such members until they expire or are discarded.
    assert registry.group_size("g") == 3


@pytest.mark.anyio
async def test_group_send_to_an_empty_group_delivers_nothing() -> None:
    registry = Registry()
    assert registry.group_send_nowait("nobody", {"type": "t"}) == 0
    assert registry.statistics().group_sends == 1


async def test_group_send_passes_the_deadline_on(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()
    registry.register("a")
    registry.group_add("g", "a")
    registry.group_send_nowait("g", {"type": "t"}, deadline=trio.current_time() + 1)
    await trio.sleep(1)
    assert drain(registry, "a") == []


# -- flush and statistics ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_flush_discards_messages_and_groups_but_keeps_mailboxes() -> None:
    registry = Registry()
    mailbox = registry.register("a")
    registry.group_add("g", "a")
    registry.send_nowait("a", {"type": "t"})
    registry.flush()
    assert registry.lookup("a") is mailbox
    assert not mailbox.closed
    assert mailbox.statistics().discarded == 1
    assert registry.members("g") == []
    assert registry.groups_of("a") == frozenset()
    assert registry.send_nowait("a", {"type": "t"}) is True


@pytest.mark.anyio
async def test_statistics_snapshot() -> None:
    registry = Registry()
    registry.register("a")
    registry.register("b")
    registry.group_add("g1", "a")
    registry.group_add("g1", "b")
    registry.group_add("g2", "a")
    registry.send_nowait("a", {"type": "t"})
    registry.send_nowait("nobody", {"type": "t"})
    registry.group_send_nowait("g1", {"type": "t"})
    assert registry.statistics() == RegistryStatistics(
        mailboxes=2,
        groups=2,
        memberships=3,
        sends=2,
        group_sends=1,
        group_deliveries=2,
        no_receiver=1,
        expired_memberships=0,
    )


def test_membership_is_a_frozen_keyword_only_record() -> None:
    membership = Membership(address="a", joined_at=1.0)
    assert membership.metadata is None
    with pytest.raises(TypeError):
        Membership("a", 1.0)  # type: ignore[call-arg]  # proving it is keyword-only
