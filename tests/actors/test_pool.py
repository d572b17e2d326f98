"""WorkerPool: results, errors, bounds, context, cancellation, resizing and idle threads."""

from __future__ import annotations

import contextvars
import threading
import time

import pytest
import trio

from callboard.actors import WorkerPool
from callboard.actors import _pool as pool_module

variable: contextvars.ContextVar[str] = contextvars.ContextVar("pool_test", default="unset")


class Gauge:
    """Counts calls inside at once, and the peak."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inside = 0
        self.peak = 0

    def call(self, seconds: float) -> int:
        with self.lock:
            self.inside += 1
            self.peak = max(self.peak, self.inside)
        time.sleep(seconds)
        with self.lock:
            self.inside -= 1
        return threading.get_ident()


def test_a_pool_needs_a_thread() -> None:
    with pytest.raises(ValueError, match="at least one thread"):
        WorkerPool(0)


async def test_returns_results_and_raises_errors_in_the_caller() -> None:
    pool = WorkerPool(2)
    assert await pool.run(lambda: 6 * 7) == 42
    caller = threading.get_ident()
    assert await pool.run(threading.get_ident) != caller

    def fail() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        await pool.run(fail)
    assert pool.statistics().completed == 3


async def test_never_runs_more_calls_at_once_than_its_size_and_finishes_them_all() -> None:
    pool = WorkerPool(3)
    gauge = Gauge()
    results: list[int] = []

    async def one() -> None:
        results.append(await pool.run(lambda: gauge.call(0.002)))

    async with trio.open_nursery() as nursery:
        for _ in range(60):
            nursery.start_soon(one)
    assert len(results) == 60
    assert gauge.peak == 3
    assert len(set(results)) <= 3
    stats = pool.statistics()
    assert (stats.size, stats.threads, stats.busy, stats.queued) == (3, 3, 0, 0)
    assert stats.completed == 60


async def test_runs_in_a_copy_of_the_callers_context_or_the_given_one() -> None:
    pool = WorkerPool(1)
    variable.set("caller")

    def change() -> str:
        seen = variable.get()
        variable.set("thread")
        return seen

    assert await pool.run(change) == "caller"
    assert variable.get() == "caller"

    given = contextvars.copy_context()
    given.run(variable.set, "given")
    assert await pool.run(change, context=given) == "given"
    assert given[variable] == "thread"


async def test_a_call_cancelled_before_a_thread_took_it_never_runs() -> None:
    pool = WorkerPool(1)
    release = threading.Event()
    ran: list[str] = []

    def first() -> None:
        release.wait(5)
        ran.append("first")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(pool.run, first)
        await trio.sleep(0.05)
        with trio.move_on_after(0.05) as scope:
            await pool.run(lambda: ran.append("second"))
        assert scope.cancelled_caught
        assert pool.statistics().queued == 0
        release.set()
    assert await pool.run(lambda: "third") == "third"
    assert ran == ["first"]


async def test_a_running_call_finishes_and_the_cancellation_follows_at_the_next_checkpoint() -> (
    None
):
    pool = WorkerPool(1)
    finished = threading.Event()

    def slow() -> str:
        time.sleep(0.2)
        finished.set()
        return "done"

    started = trio.current_time()
    result = None
    with trio.move_on_after(0.02) as scope:
        result = await pool.run(slow)  # as if called synchronously: no cancel inside a call
        await trio.lowlevel.checkpoint()
    assert scope.cancelled_caught
    assert result == "done"
    assert finished.is_set()
    assert trio.current_time() - started >= 0.19


async def test_shrinking_bounds_later_calls_and_growing_adds_threads() -> None:
    pool = WorkerPool(4)
    gauge = Gauge()

    async def burst(count: int) -> None:
        async with trio.open_nursery() as nursery:
            for _ in range(count):
                nursery.start_soon(pool.run, lambda: gauge.call(0.005))

    await burst(8)
    assert gauge.peak == 4
    pool.size = 1
    gauge.peak = 0
    await burst(8)
    assert gauge.peak == 1
    assert pool.statistics().threads == 1
    pool.size = 3
    gauge.peak = 0
    await burst(9)
    assert gauge.peak == 3
    with pytest.raises(ValueError, match="at least one thread"):
        pool.size = 0


async def test_idle_threads_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool_module, "IDLE_SECONDS", 0.05)
    pool = WorkerPool(2)
    gauge = Gauge()
    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(pool.run, lambda: gauge.call(0.01))
    assert pool.statistics().threads == 2
    for _ in range(250):  # the threads' own timeouts: nothing to wait on but time
        if not pool.statistics().threads:
            break
        await trio.sleep(0.02)
    assert pool.statistics().threads == 0
    assert await pool.run(lambda: "again") == "again"


def test_one_pool_serves_several_trio_runs_at_once() -> None:
    pool = WorkerPool(2)
    results: dict[int, list[int]] = {}

    def run(number: int) -> None:
        async def main() -> None:
            results[number] = [await pool.run(lambda n=n: n * number) for n in range(20)]

        trio.run(main)

    threads = [threading.Thread(target=run, args=(number,)) for number in (1, 2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == {number: [n * number for n in range(20)] for number in (1, 2, 3)}
