"""Tests for the in-memory layer's per-loop bookkeeping of the channels it owns."""

from __future__ import annotations

import pytest
import trio

from callboard.actors import OverflowPolicy, current_registry
from callboard.exceptions import ChannelFull
from callboard.layers import LayerConfig
from callboard.layers._owned import owned_channels

CONFIG = LayerConfig(capacity=2, channel_capacity={"big.*": 50})


async def test_one_state_per_event_loop() -> None:
    state = owned_channels()
    assert owned_channels() is state
    assert state.registry is current_registry()


def test_each_event_loop_gets_its_own_state() -> None:
    async def use() -> None:
        owned_channels().sends += 1

    async def check() -> None:
        assert owned_channels().sends == 0

    trio.run(use)
    trio.run(check)


async def test_general_names_get_a_rejecting_mailbox_sized_by_the_config() -> None:
    state = owned_channels()
    small, big = state.on_demand("jobs", CONFIG), state.on_demand("big.jobs", CONFIG)
    assert small is not None
    assert big is not None
    assert (small.capacity, small.policy) == (2, OverflowPolicy.REJECT)
    assert big.capacity == 50
    assert current_registry().lookup("jobs") is small
    assert state.channels_created == 2


async def test_process_local_names_get_one_only_if_issued() -> None:
    state = owned_channels()
    assert state.on_demand("specific.x!1", CONFIG) is None
    state.issued.add("specific.x!1")
    assert state.on_demand("specific.x!1", CONFIG) is not None


async def test_release_keeps_a_channel_with_messages_waiters_or_groups() -> None:
    state = owned_channels()
    registry = current_registry()
    mailbox = state.on_demand("jobs", CONFIG)
    assert mailbox is not None
    mailbox.send_nowait({"type": "a"})
    state.release_if_idle("jobs")
    assert "jobs" in state.owned  # has a message
    mailbox.receive_nowait()
    state.receiving["jobs"] = 1
    state.release_if_idle("jobs")
    assert "jobs" in state.owned  # a receiver is in receive()
    del state.receiving["jobs"]
    registry.group_add("room", "jobs")
    state.release_if_idle("jobs")
    assert "jobs" in state.owned  # a group member
    registry.group_discard("room", "jobs")
    state.release_if_idle("jobs")
    assert "jobs" not in state.owned
    assert "jobs" not in registry


async def test_release_never_removes_a_new_channel_mailbox() -> None:
    state = owned_channels()
    state.issued.add("specific.x!1")
    state.on_demand("specific.x!1", CONFIG)
    state.release_if_idle("specific.x!1")
    assert "specific.x!1" in state.owned


async def test_a_removed_channel_keeps_its_counts() -> None:
    state = owned_channels()
    mailbox = state.on_demand("jobs", CONFIG)
    assert mailbox is not None
    mailbox.send_nowait({"type": "a"})
    mailbox.send_nowait({"type": "b"})
    with pytest.raises(ChannelFull):
        mailbox.send_nowait({"type": "c"})
    state.remove("jobs", mailbox)
    stats = state.statistics()
    assert (stats.channels, stats.channels_removed) == (0, 1)
    assert (stats.rejected, stats.discarded, stats.queued) == (1, 2, 0)


async def test_a_mailbox_unregistered_behind_the_layers_back_is_replaced() -> None:
    state = owned_channels()
    registry = current_registry()
    stale = state.on_demand("jobs", CONFIG)
    assert stale is not None
    stale.send_nowait({"type": "a"})
    registry.unregister("jobs")  # discards the message, counted on the stale mailbox
    fresh = state.on_demand("jobs", CONFIG)
    assert fresh is not None
    assert fresh is not stale
    assert registry.lookup("jobs") is fresh
    stats = state.statistics()
    assert (stats.channels, stats.discarded, stats.channels_removed) == (1, 1, 1)
