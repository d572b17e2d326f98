"""The runtime view: one statistics roll-up, mailbox totals that outlive mailboxes, the tree."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
import trio
import trio.testing

from callboard.actors import (
    Actor,
    ChildSpec,
    MailboxTotals,
    current_runtime,
    open_supervisor,
)
from callboard.actors._introspect import waiting_on


class Slow(Actor):
    """Handles ``work`` by waiting until released."""

    mailbox_capacity = 3

    def __init__(self) -> None:
        self.release = anyio.Event()

    async def work(self, message: dict[str, Any]) -> None:
        await self.release.wait()


class Idle(Actor):
    """Waits on its mailbox."""


async def test_statistics_roll_up_depth_and_peaks_by_class(nursery: trio.Nursery) -> None:
    runtime = current_runtime()
    slow, idle = Slow(), Idle()
    nursery.start_soon(slow.run)
    nursery.start_soon(idle.run)
    await trio.testing.wait_all_tasks_blocked()
    for _ in range(3):
        slow.send_nowait({"type": "work"})  # the first is taken, two wait
    await trio.testing.wait_all_tasks_blocked()
    runtime.registry.group_add("room", idle.address or "", metadata=None)
    stats = runtime.statistics()
    assert stats.actors_by_class == {"Slow": 1, "Idle": 1}
    assert stats.depth_by_class == {"Slow": 2, "Idle": 0}
    assert stats.peak_depth_by_class == {"Slow": 3, "Idle": 0}
    assert stats.group_sizes == {"room": 1}
    assert stats.supervisor is None
    assert (stats.mailboxes.live, stats.mailboxes.depth, stats.mailboxes.max_depth) == (2, 2, 2)
    slow.release.set()
    nursery.cancel_scope.cancel()


async def test_mailbox_totals_keep_the_counts_of_ended_mailboxes(nursery: trio.Nursery) -> None:
    registry = current_runtime().registry
    slow = Slow()
    nursery.start_soon(slow.run)
    await trio.testing.wait_all_tasks_blocked()
    for _ in range(6):  # one taken, three queued, two dropped (capacity 3)
        slow.send_nowait({"type": "work"})
        await trio.testing.wait_all_tasks_blocked()
    nursery.cancel_scope.cancel()  # ends with three queued: discarded
    await trio.testing.wait_all_tasks_blocked()
    totals = registry.mailbox_totals()
    assert totals == MailboxTotals(
        live=0,
        ended=1,
        depth=0,
        max_depth=0,
        peak_depth=3,
        sent=6,
        received=1,
        dropped_newest=2,
        dropped_oldest=0,
        rejected=0,
        overflowed=0,
        expired=0,
        discarded=3,
    )
    assert totals.sent == totals.received + totals.depth + totals.undelivered
    assert totals.undelivered_by_reason["discarded"] == 3


async def test_the_tree_shows_the_root_supervisor_enrolled_and_unsupervised_actors(
    nursery: trio.Nursery,
) -> None:
    runtime = current_runtime()
    slow, idle, loose = Slow(), Idle(), Idle()
    async with open_supervisor([ChildSpec(name="worker", start=lambda: idle)], name="root") as sup:
        with runtime.using_supervisor(sup):
            nursery.start_soon(loose.run)

            async def enrolled() -> None:
                with sup.enroll(slow):
                    await slow.run()

            nursery.start_soon(enrolled)
            await trio.testing.wait_all_tasks_blocked()
            slow.send_nowait({"type": "work"})
            slow.send_nowait({"type": "work"})
            await trio.testing.wait_all_tasks_blocked()
            tree = runtime.tree()
            slow.release.set()
            slow.request_stop()
            loose.request_stop()
    lines = tree.splitlines()
    assert lines[0] == "runtime: 3 actor(s), 1 message(s) queued"
    assert lines[1] == "root (one_for_one supervisor, running: restarts=0 failures=0 enrolled=1)"
    assert lines[2] == (
        f"  worker (permanent, running): restarts=0, actor {idle.address} (Idle) depth=0, "
        "waiting on mailbox"
    )
    assert lines[3] == (
        f"  (enrolled): actor {slow.address} (Slow) depth=1, waiting on handler work"
    )
    assert lines[4] == f"(unsupervised): actor {loose.address} (Idle) depth=0, waiting on mailbox"
    assert len(lines) == 5


async def test_the_tree_sees_the_handler_that_asks_for_it(nursery: trio.Nursery) -> None:
    seen: list[str] = []

    class Introspective(Actor):
        async def look(self, message: dict[str, Any]) -> None:
            seen.append(current_runtime().tree())

    actor = Introspective()
    nursery.start_soon(actor.run)
    await trio.testing.wait_all_tasks_blocked()
    actor.send_nowait({"type": "look"})
    await trio.testing.wait_all_tasks_blocked()
    assert seen[0].endswith("Introspective) depth=0, waiting on handler look")
    nursery.cancel_scope.cancel()


async def test_the_root_supervisor_s_figures_are_in_the_roll_up() -> None:
    runtime = current_runtime()
    async with open_supervisor(name="root") as sup:
        with runtime.using_supervisor(sup):
            stats = runtime.statistics()
    assert stats.supervisor is not None
    assert (stats.supervisor.name, stats.supervisor.restarts, stats.supervisor.cancelled) == (
        "root",
        0,
        0,
    )


async def test_an_enrolled_actor_cancelled_at_the_end_of_the_grace_is_counted(
    autojump_clock: trio.testing.MockClock,
) -> None:
    slow = Slow()
    async with open_supervisor(name="root") as sup:

        async def enrolled() -> None:
            with sup.enroll(slow):
                await slow.run()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(enrolled)
            await trio.testing.wait_all_tasks_blocked()
            slow.send_nowait({"type": "work"})  # never released: it ignores the stop
            await trio.testing.wait_all_tasks_blocked()
            await sup.shutdown(1.0)
    assert sup.statistics().cancelled == 1


@pytest.mark.anyio
async def test_waiting_on_reads_the_suspended_tasks_on_both_backends() -> None:
    idle, slow = Idle(), Slow()
    async with anyio.create_task_group() as task_group:
        task_group.start_soon(idle.run)
        task_group.start_soon(slow.run)
        await anyio.wait_all_tasks_blocked()
        slow.send_nowait({"type": "work"})
        await anyio.wait_all_tasks_blocked()
        notes = waiting_on([idle, slow])
        assert notes == {id(idle): "mailbox", id(slow): "handler work"}
        slow.release.set()
        task_group.cancel_scope.cancel()
