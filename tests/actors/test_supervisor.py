"""Tests for ``callboard.actors._supervisor``: restarts by strategy, escalation, graceful stops."""

from __future__ import annotations

import functools
import logging
import math
from typing import Any

import anyio
import attrs
import pytest
import trio
import trio.testing

from callboard.actors import (
    Actor,
    ChildSpec,
    ChildState,
    RestartStrategy,
    RestartType,
    Supervisor,
    SupervisorConfig,
    TaskChild,
    current_registry,
    open_supervisor,
    start_supervisor,
    supervisor_spec,
)
from callboard.exceptions import RestartIntensityError

# -- test children ---------------------------------------------------------------------


@attrs.define(eq=False)
class World:
    """Every probe started in a test: who ran, who ended, in what order."""

    journal: list[tuple[str, str]] = attrs.Factory(list)
    current: dict[str, Probe] = attrs.Factory(dict)

    def spec(self, name: str, **kwargs: Any) -> ChildSpec:
        return ChildSpec(name=name, start=functools.partial(Probe, name, self), **kwargs)

    def runs(self, name: str) -> int:
        return self.journal.count(("run", name))

    def events(self, kind: str) -> list[str]:
        return [name for event, name in self.journal if event == kind]


class Probe:
    """A child that runs until told to fail, to return, or to stop."""

    def __init__(self, name: str, world: World) -> None:
        self.name, self.world = name, world
        self.stop_requested = False
        self._wake = trio.Event()
        self._error: Exception | None = None
        world.current[name] = self

    async def run(self) -> None:
        self.world.journal.append(("run", self.name))
        try:
            await self._wake.wait()
        finally:
            self.world.journal.append(("end", self.name))
        if self._error is not None:
            raise self._error

    def request_stop(self) -> None:
        self.world.journal.append(("stop", self.name))
        self.stop_requested = True
        self._wake.set()

    def fail(self, error: Exception) -> None:
        self._error = error
        self._wake.set()

    def finish(self) -> None:
        self._wake.set()


class Stubborn:
    """A child that ignores ``request_stop`` and runs until cancelled."""

    def __init__(self) -> None:
        self.stop_requested = False
        self.cancelled = False

    async def run(self) -> None:
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            self.cancelled = True
            raise

    def request_stop(self) -> None:
        self.stop_requested = True


class SlowStarter:
    """A child following the ``nursery.start`` protocol: ready after one second."""

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        await trio.sleep(1)
        task_status.started()
        await trio.sleep_forever()

    def request_stop(self) -> None:
        pass


class Worker(Actor):
    """An actor whose handler takes a second per message."""

    def __init__(self) -> None:
        self.done: list[int] = []

    async def work(self, message: dict[str, Any]) -> None:
        await trio.sleep(1)
        self.done.append(message["n"])


class Broken(Exception):
    pass


@pytest.fixture
def world() -> World:
    return World()


def config(**kwargs: Any) -> SupervisorConfig:
    return SupervisorConfig(**kwargs)


async def settle() -> None:
    await trio.testing.wait_all_tasks_blocked()


async def fail_until_it_gives_up(
    world: World,
    specs: list[ChildSpec],
    victim: str,
    errors: list[Exception],
    *,
    max_restarts: int,
    name: str = "app",
) -> None:
    """Make ``victim`` raise each of ``errors`` in turn; wait for the supervisor to give up."""
    async with open_supervisor(specs, name=name, config=config(max_restarts=max_restarts)):
        for error in errors:
            world.current[victim].fail(error)
            await settle()
        await trio.sleep_forever()  # the supervisor giving up cancels the block


# -- strategies --------------------------------------------------------------------------


async def test_one_for_one_restarts_only_the_failed_child(world: World) -> None:
    async with open_supervisor([world.spec("a"), world.spec("b"), world.spec("c")]) as sup:
        world.current["b"].fail(Broken("b broke"))
        await settle()
        assert [world.runs(n) for n in "abc"] == [1, 2, 1]
        assert world.events("end") == ["b"]
        assert sup.statistics().restarts_by_child == {"a": 0, "b": 1, "c": 0}


async def test_one_for_all_stops_siblings_newest_first_then_restarts_all_in_order(
    world: World,
) -> None:
    specs = [world.spec("a"), world.spec("b"), world.spec("c")]
    async with open_supervisor(specs, config=config(strategy="one_for_all")) as sup:
        del world.journal[:]
        world.current["b"].fail(Broken("b broke"))
        await settle()
        assert world.journal[:3] == [("end", "b"), ("stop", "c"), ("stop", "a")]
        assert sorted(world.journal[3:5]) == [("end", "a"), ("end", "c")]
        assert world.journal[5:] == [("run", "a"), ("run", "b"), ("run", "c")]
        assert sup.statistics().restarts == 3


async def test_rest_for_one_restarts_the_failed_child_and_those_started_after_it(
    world: World,
) -> None:
    specs = [world.spec("a"), world.spec("b"), world.spec("c")]
    async with open_supervisor(specs, config=config(strategy="rest_for_one")):
        del world.journal[:]
        world.current["b"].fail(Broken("b broke"))
        await settle()
        assert world.journal == [
            ("end", "b"),
            ("stop", "c"),
            ("end", "c"),
            ("run", "b"),
            ("run", "c"),
        ]


async def test_one_for_all_forgets_temporary_siblings_instead_of_restarting_them(
    world: World,
) -> None:
    specs = [world.spec("a"), world.spec("t", restart="temporary")]
    async with open_supervisor(specs, config=config(strategy="one_for_all")) as sup:
        world.current["a"].fail(Broken("a broke"))
        await settle()
        assert [h.name for h in sup.children()] == ["a"]
        assert world.runs("t") == 1
        assert world.current["t"].stop_requested


# -- restart types -----------------------------------------------------------------------


async def test_permanent_child_is_restarted_even_after_returning(world: World) -> None:
    async with open_supervisor([world.spec("p")]):
        world.current["p"].finish()
        await settle()
        assert world.runs("p") == 2


async def test_transient_child_is_restarted_after_raising(world: World) -> None:
    async with open_supervisor([world.spec("t", restart="transient")]) as sup:
        world.current["t"].fail(Broken("t broke"))
        await settle()
        assert world.runs("t") == 2
        assert sup.children()[0].restarts == 1


async def test_transient_child_that_returns_is_forgotten(world: World) -> None:
    async with open_supervisor() as sup:
        handle = await sup.start_child(world.spec("t", restart=RestartType.TRANSIENT))
        world.current["t"].finish()
        await handle.wait_stopped()
        assert handle.state is ChildState.STOPPED
        assert sup.children() == []
        assert world.runs("t") == 1


async def test_temporary_child_is_never_restarted(world: World) -> None:
    async with open_supervisor([world.spec("t", restart="temporary")]) as sup:
        world.current["t"].fail(Broken("t broke"))
        await settle()
        assert sup.children() == []
        assert world.runs("t") == 1
        assert (sup.statistics().failures, sup.statistics().restarts) == (1, 0)


async def test_temporary_child_crash_is_logged_once_with_traceback_and_siblings_carry_on(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_supervisor([world.spec("a"), world.spec("t", restart="temporary")]) as sup:
        sibling = world.current["a"]
        error = Broken("t broke")
        world.current["t"].fail(error)
        await settle()
        records = [r for r in caplog.records if r.name == "callboard.supervisor"]
        assert len(records) == 1
        assert records[0].levelno == logging.ERROR
        assert records[0].getMessage() == "Child 't' (temporary) of supervisor 'supervisor' failed."
        assert records[0].exc_info is not None
        assert records[0].exc_info[1] is error
        assert "Broken: t broke" in caplog.text  # the traceback is in the log
        assert world.current["a"] is sibling
        assert not sibling.stop_requested
        assert [(h.name, h.state) for h in sup.children()] == [("a", ChildState.RUNNING)]


async def test_handle_request_stop_stops_the_child_for_good(world: World) -> None:
    async with open_supervisor([world.spec("p")]) as sup:
        handle = sup.children()[0]
        handle.request_stop()
        await handle.wait_stopped()
        assert world.current["p"].stop_requested
        assert world.runs("p") == 1
        assert sup.children() == []


# -- restart intensity -------------------------------------------------------------------


async def test_exceeding_the_restart_intensity_raises_with_the_last_failure_chained(
    world: World,
) -> None:
    last = Broken("third time")
    pattern = r"^Supervisor 'app' gave up: more than 2 restarts within 5 s\. "
    with pytest.raises(RestartIntensityError, match=pattern) as caught:
        await fail_until_it_gives_up(
            world, [world.spec("w")], "w", [Broken("first"), Broken("second"), last], max_restarts=2
        )
    assert caught.value.__cause__ is last
    assert (caught.value.supervisor, caught.value.max_restarts) == ("app", 2)
    assert world.runs("w") == 3


async def test_giving_up_stops_the_remaining_children_first(world: World) -> None:
    specs = [world.spec("a"), world.spec("w")]
    with pytest.raises(RestartIntensityError):
        await fail_until_it_gives_up(world, specs, "w", [Broken("w broke")], max_restarts=0)
    assert world.current["a"].stop_requested
    assert world.journal[-3:] == [("end", "w"), ("stop", "a"), ("end", "a")]


async def test_restarts_older_than_the_period_no_longer_count(
    world: World, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_supervisor([world.spec("w")], config=config(max_restarts=1, period=10)):
        for _ in range(4):
            world.current["w"].fail(Broken("again"))
            await settle()
            await trio.sleep(10.5)
        assert world.runs("w") == 5


# -- nesting -----------------------------------------------------------------------------


async def test_nested_supervisor_giving_up_is_restarted_by_its_parent(world: World) -> None:
    inner = supervisor_spec("inner", [world.spec("x")], config=config(max_restarts=0))
    async with open_supervisor([inner], name="outer") as outer:
        first = outer.children()[0].child
        world.current["x"].fail(Broken("x broke"))
        await settle()
        handle = outer.children()[0]
        assert handle.restarts == 1
        assert isinstance(handle.child, Supervisor)
        assert handle.child is not first
        assert handle.child.state is ChildState.RUNNING
        assert world.runs("x") == 2


async def test_restart_intensity_errors_chain_up_a_tree_to_the_root(world: World) -> None:
    inner = supervisor_spec("inner", [world.spec("x")], config=config(max_restarts=0))
    root_error = Broken("x broke")
    with pytest.raises(RestartIntensityError, match=r"^Supervisor 'outer' gave up") as caught:
        await fail_until_it_gives_up(
            world, [inner], "x", [root_error], max_restarts=0, name="outer"
        )
    middle = caught.value.__cause__
    assert isinstance(middle, RestartIntensityError)
    assert middle.supervisor == "inner"
    assert middle.__cause__ is root_error


async def test_stopping_a_parent_stops_the_children_of_nested_supervisors(world: World) -> None:
    async with open_supervisor([supervisor_spec("inner", [world.spec("x")])]) as outer:
        await outer.shutdown()
    assert world.current["x"].stop_requested
    assert outer.state is ChildState.STOPPED


# -- starting children ---------------------------------------------------------------------


async def test_start_child_returns_once_an_actor_is_registered() -> None:
    async with open_supervisor() as sup:
        handle = await sup.start_child(ChildSpec(name="worker", start=Worker))
        assert handle.state is ChildState.RUNNING
        assert isinstance(handle.child, Worker)
        assert handle.child.address in current_registry()


async def test_start_child_waits_for_task_status_started(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_supervisor() as sup:
        began = trio.current_time()
        handle = await sup.start_child(ChildSpec(name="slow", start=SlowStarter))
        assert trio.current_time() - began == 1
        assert handle.state is ChildState.RUNNING


async def test_start_child_raises_what_the_child_raised_before_running() -> None:
    def refuse() -> Probe:
        raise Broken("cannot build")

    async with open_supervisor() as sup:
        with pytest.raises(Broken, match=r"^cannot build$"):
            await sup.start_child(ChildSpec(name="r", start=refuse))
        assert sup.children() == []
        assert sup.state is ChildState.RUNNING


async def test_start_child_refuses_a_factory_returning_neither_child_nor_coroutine() -> None:
    async with open_supervisor() as sup:
        with pytest.raises(TypeError, match=r"^ChildSpec 'n': start\(\) returned 42, which is"):
            await sup.start_child(ChildSpec(name="n", start=lambda: 42))  # type: ignore[arg-type,return-value]  # the point of the test


async def test_start_child_refuses_a_duplicate_name(world: World) -> None:
    async with open_supervisor([world.spec("a")], name="app") as sup:
        with pytest.raises(
            ValueError, match=r"^Supervisor 'app' already has a child named 'a'; names must"
        ):
            await sup.start_child(world.spec("a"))


async def test_cancelling_start_child_cancels_and_forgets_the_child(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_supervisor() as sup:
        with trio.move_on_after(0.5):
            await sup.start_child(ChildSpec(name="slow", start=SlowStarter))
        assert sup.children() == []


async def test_an_async_function_runs_as_a_child_and_is_stopped_by_cancellation(
    autojump_clock: trio.testing.MockClock,
) -> None:
    finished: list[str] = []

    async def ticker() -> None:
        try:
            await trio.sleep_forever()
        finally:
            finished.append("ticker")

    async with open_supervisor([ChildSpec(name="ticker", start=ticker)]) as sup:
        assert isinstance(sup.children()[0].child, TaskChild)
        began = trio.current_time()
        await sup.shutdown(grace=math.inf)
        assert trio.current_time() == began
    assert finished == ["ticker"]


async def test_a_failing_initial_child_fails_open_supervisor_with_its_own_error() -> None:
    async def refuse(
        *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        raise Broken("not ready")

    class Refuser:
        run = staticmethod(refuse)

        def request_stop(self) -> None:
            pass

    with pytest.raises(Broken, match=r"^not ready$"):
        async with open_supervisor([ChildSpec(name="r", start=Refuser)]):
            pytest.fail("the block must not run")


async def test_open_supervisor_surfaces_an_error_of_its_block_bare(world: World) -> None:
    with pytest.raises(KeyError, match="from the block"):
        async with open_supervisor([world.spec("a")]):
            raise KeyError("from the block")


# -- graceful shutdown ---------------------------------------------------------------------


async def test_leaving_open_supervisor_lets_an_actor_drain_its_queue_within_the_grace(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_supervisor(
        [ChildSpec(name="worker", start=Worker)], config=config(shutdown_timeout=10)
    ) as sup:
        worker = sup.children()[0].child
        assert isinstance(worker, Worker)
        for n in range(3):
            worker.send_nowait({"type": "work", "n": n})
        began = trio.current_time()
    assert worker.done == [0, 1, 2]
    assert trio.current_time() - began == 3


async def test_a_child_ignoring_stop_is_cancelled_when_the_grace_runs_out(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    stubborn = Stubborn()
    async with open_supervisor([ChildSpec(name="s", start=lambda: stubborn)]) as sup:
        began = trio.current_time()
        await sup.shutdown(grace=2)
        assert trio.current_time() - began == 2
    assert stubborn.stop_requested
    assert stubborn.cancelled
    assert "Child 's' of supervisor 'supervisor' did not stop within its grace; cancelled." in (
        caplog.messages
    )


async def test_a_childs_shorter_shutdown_timeout_wins_over_the_grace(
    autojump_clock: trio.testing.MockClock,
) -> None:
    spec = ChildSpec(name="s", start=Stubborn, shutdown_timeout=1)
    async with open_supervisor([spec]) as sup:
        began = trio.current_time()
        await sup.shutdown(grace=10)
        assert trio.current_time() - began == 1


async def test_shutdown_asks_children_to_stop_newest_first(world: World) -> None:
    async with open_supervisor([world.spec("a"), world.spec("b"), world.spec("c")]) as sup:
        await sup.shutdown()
        assert world.events("stop") == ["c", "b", "a"]
        assert sup.state is ChildState.STOPPED


async def test_a_stopping_supervisor_refuses_new_children(world: World) -> None:
    async with open_supervisor([ChildSpec(name="s", start=Stubborn)], name="app") as sup:
        sup.request_stop()
        with pytest.raises(
            RuntimeError, match=r"^Supervisor 'app' is stopping; it accepts no new children\.$"
        ):
            await sup.start_child(world.spec("late"))
        await sup.shutdown(grace=0)


async def test_cancelling_shutdown_midway_leaves_the_shutdown_in_force(
    autojump_clock: trio.testing.MockClock,
) -> None:
    stubborn = Stubborn()
    async with open_supervisor([ChildSpec(name="s", start=lambda: stubborn)]) as sup:
        began = trio.current_time()
        with trio.move_on_after(1):
            await sup.shutdown(grace=10)
        assert (sup.state, stubborn.cancelled) == (ChildState.STOPPING, False)
    assert trio.current_time() - began == 10
    assert stubborn.cancelled


async def test_cancelling_the_owner_cancels_every_child_without_grace(
    autojump_clock: trio.testing.MockClock,
) -> None:
    stubborn = Stubborn()
    began = trio.current_time()
    with trio.move_on_after(1):
        async with open_supervisor(
            [ChildSpec(name="s", start=lambda: stubborn)], config=config(shutdown_timeout=60)
        ):
            await trio.sleep_forever()
    assert trio.current_time() - began == 1
    assert stubborn.cancelled
    assert not stubborn.stop_requested


async def test_start_supervisor_runs_in_the_callers_nursery_until_shut_down(world: World) -> None:
    async with trio.open_nursery() as nursery:
        sup = await start_supervisor(nursery, [world.spec("a")], name="bg")
        assert sup.state is ChildState.RUNNING
        assert world.runs("a") == 1
        await sup.shutdown()
    assert world.events("end") == ["a"]


async def test_start_supervisor_raises_restart_intensity_error_into_the_nursery(
    world: World,
) -> None:
    with pytest.RaisesGroup(pytest.RaisesExc(RestartIntensityError, match="'bg' gave up")):
        async with trio.open_nursery() as nursery:
            await start_supervisor(
                nursery, [world.spec("a")], name="bg", config=config(max_restarts=0)
            )
            world.current["a"].fail(Broken("a broke"))


# -- enrolment -----------------------------------------------------------------------------


async def run_enrolled(sup: Supervisor, actor: Actor, after: list[str]) -> None:
    """What a server's connection task does."""
    with sup.enroll(actor) as scope:
        await actor.run()
    after.append("cancelled" if scope.cancelled_caught else "finished")


async def test_enrolled_actor_gets_request_stop_on_shutdown_and_may_finish(
    autojump_clock: trio.testing.MockClock,
) -> None:
    actor, after = Worker(), list[str]()
    async with trio.open_nursery() as nursery, open_supervisor() as sup:
        nursery.start_soon(run_enrolled, sup, actor, after)
        await settle()
        assert sup.enrolled() == [actor]
        assert sup.statistics().enrolled == 1
        actor.send_nowait({"type": "work", "n": 7})
        await sup.shutdown()
        assert (actor.done, after) == ([7], ["finished"])
        assert sup.enrolled() == []


async def test_enrolled_block_is_cancelled_when_the_grace_runs_out(
    autojump_clock: trio.testing.MockClock,
) -> None:
    actor, after = Worker(), list[str]()
    async with trio.open_nursery() as nursery, open_supervisor() as sup:
        nursery.start_soon(run_enrolled, sup, actor, after)
        await settle()
        actor.send_nowait({"type": "work", "n": 1})
        actor.send_nowait({"type": "work", "n": 2})
        began = trio.current_time()
        await sup.shutdown(grace=1.5)
        assert trio.current_time() - began == 1.5
        assert (actor.done, after) == ([1], ["cancelled"])


async def test_enrolled_failure_is_logged_once_counted_and_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    actor, error = Worker(), Broken("handler broke")
    async with open_supervisor(name="conns") as sup:
        with sup.enroll(actor):
            raise error
        assert sup.statistics().failures == 1
    records = [r for r in caplog.records if r.name == "callboard.supervisor"]
    assert [(r.getMessage(), r.exc_info and r.exc_info[1]) for r in records] == [
        (f"Enrolled {actor!r} of supervisor 'conns' failed.", error)
    ]


async def test_enroll_is_refused_once_stopping() -> None:
    async with open_supervisor(name="app") as sup:
        sup.request_stop()
        with pytest.raises(RuntimeError, match=r"^Supervisor 'app' is stopping; it accepts no new"):
            sup.enroll(Worker())


# -- statistics and tree -------------------------------------------------------------------


async def test_statistics_count_children_by_state_restarts_failures_and_enrolled(
    world: World,
) -> None:
    async with open_supervisor([world.spec("a"), world.spec("b")], name="app") as sup:
        world.current["b"].fail(Broken("b broke"))
        await settle()
        with sup.enroll(Worker()):
            stats = sup.statistics()
    assert (stats.name, stats.state, stats.strategy) == (
        "app",
        ChildState.RUNNING,
        RestartStrategy.ONE_FOR_ONE,
    )
    assert stats.children_by_state[ChildState.RUNNING] == 2
    assert sum(stats.children_by_state.values()) == 2
    assert (stats.restarts, stats.failures, stats.enrolled, stats.gave_up) == (1, 1, 1, False)
    assert stats.restarts_by_child == {"a": 0, "b": 1}


async def test_statistics_is_a_frozen_snapshot(world: World) -> None:
    async with open_supervisor([world.spec("a")]) as sup:
        stats = sup.statistics()
        world.current["a"].fail(Broken("a broke"))
        await settle()
        assert stats.restarts == 0
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            stats.restarts = 5  # type: ignore[misc]  # the point of the test


async def test_statistics_include_actor_and_nested_supervisor_snapshots(world: World) -> None:
    children = [ChildSpec(name="w", start=Worker), supervisor_spec("pool", [world.spec("x")])]
    async with open_supervisor(children) as sup:
        worker, pool = sup.statistics().children
        assert worker.actor is not None
        assert worker.actor.actor_class == "Worker"
        assert pool.supervisor is not None
        assert pool.supervisor.children[0].name == "x"


async def test_tree_shows_states_restarts_actors_nested_supervisors_and_enrolled(
    world: World, autojump_clock: trio.testing.MockClock
) -> None:
    async def ticker() -> None:
        await trio.sleep_forever()

    children = [
        ChildSpec(name="echo", start=Worker),
        ChildSpec(name="ticker", start=ticker, restart="transient"),
        supervisor_spec(
            "pool", [world.spec("db", restart="temporary")], config=config(strategy="one_for_all")
        ),
    ]
    async with open_supervisor(children, name="app") as sup:
        echo = sup.children()[0].child
        assert isinstance(echo, Worker)
        echo.send_nowait({"type": "work", "n": 1})
        echo.send_nowait({"type": "work", "n": 2})  # the first is being handled
        await settle()
        guest = Worker()
        with sup.enroll(guest):
            tree = sup.tree()
    assert tree == "\n".join(
        [
            "app (one_for_one supervisor, running: restarts=0 failures=0 enrolled=1)",
            f"  echo (permanent, running): restarts=0, actor {echo.address} depth=1",
            "  ticker (transient, running): restarts=0, task "
            "test_tree_shows_states_restarts_actors_nested_supervisors_and_enrolled.<locals>.ticker",
            "  pool (permanent, running): restarts=0, "
            "one_for_all supervisor, running: restarts=0 failures=0 enrolled=0",
            "    db (temporary, running): restarts=0, Probe",
            "  (enrolled): actor (not running) depth=0",
        ]
    )


# -- configuration -------------------------------------------------------------------------


def test_config_rejects_an_unknown_strategy() -> None:
    with pytest.raises(
        ValueError,
        match=r"^Unknown restart strategy 'one_for_some'; "
        r"use one of 'one_for_one', 'one_for_all', 'rest_for_one'\.$",
    ):
        SupervisorConfig(strategy="one_for_some")


def test_config_rejects_a_negative_max_restarts() -> None:
    with pytest.raises(ValueError, match=r"^max_restarts must be an int >= 0, got -1\.$"):
        SupervisorConfig(max_restarts=-1)


def test_child_spec_rejects_an_unknown_restart_type() -> None:
    with pytest.raises(ValueError, match=r"^Unknown restart type 'sometimes'; use one of"):
        ChildSpec(name="x", start=Worker, restart="sometimes")


def test_child_spec_rejects_a_negative_shutdown_timeout() -> None:
    with pytest.raises(ValueError, match=r"^shutdown_timeout must be a non-negative number"):
        ChildSpec(name="x", start=Worker, shutdown_timeout=-1)


# -- both backends -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_one_for_one_restart_works_on_both_backends() -> None:
    runs: list[int] = []
    second_run = anyio.Event()

    async def flaky() -> None:
        runs.append(len(runs) + 1)
        if len(runs) == 1:
            raise Broken("first run fails")
        second_run.set()
        await anyio.sleep_forever()

    with anyio.fail_after(1):
        async with open_supervisor([ChildSpec(name="flaky", start=flaky)]) as sup:
            await second_run.wait()
            assert sup.children()[0].restarts == 1
    assert runs == [1, 2]
