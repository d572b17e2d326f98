"""Tests for ``callboard.actors._runtime``: one registry and actor table per event loop."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
import trio
import trio.testing

from callboard.actors import (
    Actor,
    Registry,
    RegistryStatistics,
    Runtime,
    RuntimeStatistics,
    current_registry,
    current_runtime,
)


class Alpha(Actor):
    async def note(self, message: dict[str, Any]) -> None:
        pass


class Beta(Actor):
    pass


@pytest.mark.anyio
async def test_current_runtime_is_created_once_per_loop() -> None:
    runtime = current_runtime()
    assert isinstance(runtime, Runtime)
    assert current_runtime() is runtime
    assert current_registry() is runtime.registry


@pytest.mark.anyio
async def test_each_task_of_a_loop_sees_the_same_runtime() -> None:
    seen: list[Runtime] = []

    async def look() -> None:
        seen.append(current_runtime())

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(look)
    assert seen == [current_runtime()] * 3


@pytest.mark.parametrize("backend", ["trio", "asyncio"])
def test_two_runs_of_an_event_loop_get_different_runtimes(backend: str) -> None:
    async def register() -> Runtime:
        runtime = current_runtime()
        runtime.registry.register("same.address")
        return runtime

    first = anyio.run(register, backend=backend)
    second = anyio.run(register, backend=backend)  # no KeyError: a fresh registry
    assert first is not second
    assert first.registry is not second.registry


def test_two_trio_runs_get_different_runtimes() -> None:
    runtimes = [trio.run(_get_runtime), trio.run(_get_runtime)]
    assert runtimes[0] is not runtimes[1]


async def _get_runtime() -> Runtime:
    return current_runtime()


def test_current_runtime_outside_an_event_loop_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="Not currently running on any asynchronous event loop"):
        current_runtime()


def test_a_new_runtime_is_empty() -> None:
    runtime = Runtime()
    assert isinstance(runtime.registry, Registry)
    assert (runtime.actors, runtime.extras) == ({}, {})
    assert Runtime().registry is not runtime.registry


async def test_statistics_count_live_actors_by_class() -> None:
    runtime = current_runtime()
    actors = [Alpha(), Alpha(), Beta()]
    async with trio.open_nursery() as nursery:
        for actor in actors:
            nursery.start_soon(actor.run)
        await trio.testing.wait_all_tasks_blocked()
        runtime.registry.group_add("g", "someone")
        stats = runtime.statistics()
        assert stats.actors == 3
        assert stats.actors_by_class == {"Alpha": 2, "Beta": 1}
        assert stats.registry == runtime.registry.statistics()
        assert stats.registry.mailboxes == 3
        actors[0].request_stop()
        await trio.testing.wait_all_tasks_blocked()
        assert runtime.statistics().actors_by_class == {"Alpha": 1, "Beta": 1}
        nursery.cancel_scope.cancel()
    stats = runtime.statistics()
    assert isinstance(stats, RuntimeStatistics)
    assert (stats.actors, stats.actors_by_class) == (0, {})
    assert stats.registry == (
        RegistryStatistics(
            mailboxes=0,
            groups=1,
            memberships=1,
            sends=0,
            group_sends=0,
            group_deliveries=0,
            no_receiver=0,
            expired_memberships=0,
        )
    )


async def test_extras_keep_per_loop_state_for_other_subsystems() -> None:
    current_runtime().extras["layers"] = {"default": "in-memory"}
    assert current_runtime().extras == {"layers": {"default": "in-memory"}}


def test_tune_gc_raises_the_young_threshold_and_keeps_the_older_ones() -> None:
    import gc

    from callboard.actors import tune_gc

    before = gc.get_threshold()
    try:
        tune_gc(12_345)
        assert gc.get_threshold() == (12_345, *before[1:])
        tune_gc(None)
        assert gc.get_threshold() == (12_345, *before[1:])
        with pytest.raises(ValueError, match="positive or None"):
            tune_gc(0)
    finally:
        gc.set_threshold(*before)
