"""Tests for ``callboard.actors._actor``: dispatch by type, one message at a time."""

from __future__ import annotations

import collections
import re
from collections import OrderedDict
from typing import Any

import anyio
import pytest
import trio
import trio.testing

from callboard.actors import (
    Actor,
    ActorStatistics,
    Overflowed,
    OverflowPolicy,
    Runtime,
    current_registry,
    current_runtime,
    handler_name,
    process_name,
)
from callboard.exceptions import InvalidMessageError, NoHandlerError


class Recorder(Actor):
    """Records what it handles."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def note(self, message: dict[str, Any]) -> None:
        self.seen.append(message)

    async def chat_message(self, message: dict[str, Any]) -> None:
        self.seen.append(message)


class Failing(Actor):
    async def explode(self, message: dict[str, Any]) -> None:
        raise ValueError(f"exploded on {message['n']}")


class Sleeper(Actor):
    async def sleep(self, message: dict[str, Any]) -> None:
        await trio.sleep_forever()


class Quiet(Actor):
    pass


async def start(nursery: trio.Nursery, actor: Actor) -> str:
    """Run ``actor`` in ``nursery`` and return its address once it is waiting."""
    nursery.start_soon(actor.run)
    await trio.testing.wait_all_tasks_blocked()
    assert actor.address is not None
    return actor.address


def assert_gone(address: str) -> None:
    runtime = current_runtime()
    assert address not in runtime.registry
    assert address not in runtime.actors
    assert runtime.registry.groups_of(address) == frozenset()


# -- handler names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message_type", "name"),
    [
        ("chat.message", "chat_message"),
        ("websocket.connect", "websocket_connect"),
        ("a.b.c", "a_b_c"),
        ("plain", "plain"),
        ("with_underscore", "with_underscore"),
    ],
)
def test_handler_name_turns_dots_into_underscores(message_type: str, name: str) -> None:
    assert handler_name(message_type) == name


@pytest.mark.parametrize("message_type", ["_private", ".hidden", "__class__"])
def test_handler_name_refuses_a_private_method(message_type: str) -> None:
    with pytest.raises(InvalidMessageError, match=re.escape("must not start with '.' or '_'")):
        handler_name(message_type)


@pytest.mark.parametrize("message_type", ["", None, 7, b"chat"])
def test_handler_name_refuses_a_type_that_is_not_a_non_empty_str(message_type: object) -> None:
    with pytest.raises(InvalidMessageError, match="its 'type' must be a non-empty str"):
        handler_name(message_type)


# -- dispatch ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_dispatch_calls_the_handler_named_by_the_type() -> None:
    actor = Recorder()
    await actor.dispatch({"type": "chat.message", "text": "hi"})
    await actor.dispatch({"type": "note"})
    assert actor.seen == [{"type": "chat.message", "text": "hi"}, {"type": "note"}]


@pytest.mark.parametrize("message", [{"text": "hi"}, None, ["note"], "note"])
async def test_a_message_without_a_type_is_invalid(message: Any) -> None:
    with pytest.raises(
        InvalidMessageError,
        match=re.escape("it must be a dict with a 'type' key, like {'type': 'chat.message'}"),
    ):
        await Recorder().dispatch(message)


async def test_a_private_type_is_refused_before_any_lookup() -> None:
    with pytest.raises(InvalidMessageError, match=re.escape("Invalid message {'type': '_note'}")):
        await Recorder().dispatch({"type": "_note"})


async def test_a_type_without_a_handler_names_the_method_and_the_class() -> None:
    expected = (
        "No handler for message type 'chat.message' on Quiet: define "
        "`async def chat_message(self, event)` on Quiet, or stop sending that type to it."
    )
    with pytest.raises(NoHandlerError, match=re.escape(expected)) as info:
        await Quiet().dispatch({"type": "chat.message"})
    assert (info.value.message_type, info.value.handler_name, info.value.actor_class) == (
        "chat.message",
        "chat_message",
        "Quiet",
    )


@pytest.mark.parametrize("message_type", ["mailbox.capacity", "address"])
async def test_a_type_naming_a_plain_attribute_has_no_handler(message_type: str) -> None:
    with pytest.raises(NoHandlerError, match="No handler for message type"):
        await Quiet().dispatch({"type": message_type})


async def test_handlers_are_looked_up_per_class() -> None:
    calls: list[str] = []

    class Base(Actor):
        async def hello(self, message: dict[str, Any]) -> None:
            calls.append("base")

    class Override(Base):
        async def hello(self, message: dict[str, Any]) -> None:
            calls.append("override")

    class Inherit(Base):
        pass

    for actor in (Base(), Override(), Inherit(), Override(), Base()):
        await actor.dispatch({"type": "hello"})
    assert calls == ["base", "override", "base", "override", "base"]


# -- the loop -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_run_handles_messages_in_order_until_stopped() -> None:
    actor = Recorder()
    async with anyio.create_task_group() as tg:
        tg.start_soon(actor.run)
        await anyio.wait_all_tasks_blocked()
        assert actor.address is not None
        for n in range(5):
            current_registry().send_nowait(actor.address, {"type": "note", "n": n})
        await anyio.wait_all_tasks_blocked()
        assert [m["n"] for m in actor.seen] == [0, 1, 2, 3, 4]
        actor.request_stop()
    assert actor.statistics().handled == 5


@pytest.mark.anyio
async def test_request_stop_handles_what_is_queued_then_run_returns() -> None:
    actor = Recorder()
    with actor.attach():
        for n in range(3):
            actor.send_nowait({"type": "note", "n": n})
        actor.request_stop()
        await actor.serve()
    assert [m["n"] for m in actor.seen] == [0, 1, 2]


@pytest.mark.anyio
async def test_request_stop_is_idempotent_and_a_no_op_when_not_running() -> None:
    actor = Recorder()
    actor.request_stop()
    with actor.attach():
        actor.request_stop()
        actor.request_stop()
        await actor.serve()


async def test_messages_from_the_registry_and_groups_reach_the_actor() -> None:
    actor = Recorder()
    async with trio.open_nursery() as nursery:
        address = await start(nursery, actor)
        registry = current_registry()
        registry.group_add("room", address)
        registry.send_nowait(address, {"type": "note", "via": "direct"})
        registry.group_send_nowait("room", {"type": "chat.message", "via": "group"})
        await trio.testing.wait_all_tasks_blocked()
        actor.request_stop()
    assert [m["via"] for m in actor.seen] == ["direct", "group"]
    assert_gone(address)


async def test_a_dict_subclass_message_is_dispatched() -> None:
    # Regression: anything not exactly a dict went to handle_signal, which
    # ignored it: the message vanished without a trace.
    actor = Recorder()
    with actor.attach():
        actor.send_nowait(OrderedDict(type="note", n=1))
        actor.request_stop()
        await actor.serve()
    assert actor.seen == [{"type": "note", "n": 1}]


class StepCounter(trio.abc.Instrument):
    """Counts how many times each task has been stepped (woken and run)."""

    def __init__(self) -> None:
        self.steps: collections.Counter[trio.lowlevel.Task] = collections.Counter()

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.steps[task] += 1


async def test_a_queued_burst_is_handled_in_one_wakeup() -> None:
    counter = StepCounter()
    observed: list[tuple[trio.lowlevel.Task, int]] = []

    class Burst(Actor):
        async def note(self, message: dict[str, Any]) -> None:
            task = trio.lowlevel.current_task()
            observed.append((task, counter.steps[task]))

    actor = Burst()
    async with trio.open_nursery() as nursery:
        await start(nursery, actor)
        trio.lowlevel.add_instrument(counter)
        for n in range(50):
            actor.send_nowait({"type": "note", "n": n})
        await trio.testing.wait_all_tasks_blocked()
        trio.lowlevel.remove_instrument(counter)
        actor.request_stop()
    assert len(observed) == 50
    [(task, step)] = set(observed)  # every handler ran in the same step ...
    assert counter.steps[task] == step == 1  # ... the one wake-up for the burst


async def test_an_actor_feeding_itself_still_lets_others_run() -> None:
    other_turns = 0
    seen: list[int] = []  # how many turns the other task had, per message handled

    class Echo(Actor):
        mailbox_capacity = 10

        async def again(self, message: dict[str, Any]) -> None:
            seen.append(other_turns)
            if len(seen) < 100:
                self.send_nowait(message)  # never a checkpoint of its own
            else:
                self.request_stop()

    actor = Echo()
    async with trio.open_nursery() as nursery:
        await start(nursery, actor)
        actor.send_nowait({"type": "again"})
        while actor.mailbox is not None:
            other_turns += 1
            await trio.lowlevel.checkpoint()
    assert len(seen) == 100
    # Nobody else runs inside a batch of `mailbox_capacity` messages ...
    assert all(seen[n] == seen[n - n % 10] for n in range(100))
    # ... but the actor checkpoints between batches, so others do get turns.
    assert seen[-1] > seen[0]


async def test_a_handler_error_ends_run_and_the_actor_leaves_everything() -> None:
    actor = Failing()

    async def run() -> None:
        with pytest.raises(ValueError, match="exploded on 1"):
            await actor.run()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)
        await trio.testing.wait_all_tasks_blocked()
        address = actor.address
        assert address is not None
        current_registry().group_add("room", address)
        actor.send_nowait({"type": "explode", "n": 1})
        actor.send_nowait({"type": "explode", "n": 2})
    assert_gone(address)
    stats = actor.statistics()
    assert (stats.handled, stats.mailbox) == (0, None)


async def test_a_message_without_a_handler_ends_run() -> None:
    actor = Quiet()

    async def run() -> None:
        with pytest.raises(NoHandlerError, match="on Quiet"):
            await actor.run()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)
        await trio.testing.wait_all_tasks_blocked()
        actor.send_nowait({"type": "anything"})


async def test_overflow_under_disconnect_stops_the_actor_after_draining() -> None:
    class Slow(Recorder):
        mailbox_capacity = 2
        overflow_policy = "disconnect"

    actor = Slow()
    finished = trio.Event()

    async def run() -> None:
        await actor.run()
        finished.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)
        await trio.testing.wait_all_tasks_blocked()
        mailbox = actor.mailbox
        assert mailbox is not None
        for n in range(3):
            actor.send_nowait({"type": "note", "n": n})
        await trio.testing.wait_all_tasks_blocked()
        assert finished.is_set()
    assert [m["n"] for m in actor.seen] == [0, 1]
    assert mailbox.statistics().overflowed == 1


async def test_handle_signal_can_be_overridden() -> None:
    signals: list[object] = []

    class Tolerant(Recorder):
        mailbox_capacity = 1
        overflow_policy = OverflowPolicy.DISCONNECT

        async def handle_signal(self, signal: object) -> None:
            signals.append(signal)

    actor = Tolerant()
    async with trio.open_nursery() as nursery:
        address = await start(nursery, actor)
        actor.send_nowait({"type": "note", "n": 0})
        actor.send_nowait({"type": "note", "n": 1})
        await trio.testing.wait_all_tasks_blocked()
        assert signals == [Overflowed(address=address, capacity=1)]
        actor.send_nowait({"type": "note", "n": 2})  # still running
        await trio.testing.wait_all_tasks_blocked()
        actor.request_stop()
    assert [m["n"] for m in actor.seen] == [0, 2]


async def test_a_non_dict_put_in_the_mailbox_is_an_invalid_message() -> None:
    actor = Recorder()
    with actor.attach() as mailbox:
        with pytest.raises(InvalidMessageError, match="messages must be dicts"):
            await actor.handle_signal(["not", "a", "dict"])
        assert not mailbox.closed


async def test_a_message_naming_the_actors_machinery_has_no_handler() -> None:
    actor = Recorder()
    with actor.attach():
        with pytest.raises(NoHandlerError, match="dispatch"):
            await actor.dispatch({"type": "dispatch"})
        with pytest.raises(NoHandlerError, match="request_stop"):
            await actor.dispatch({"type": "request.stop"})


# -- run: cancellation, timeout, owner shutdown, peer closing --------------------------------------


async def test_cancelling_run_midway_still_unregisters() -> None:
    actor = Sleeper()
    async with trio.open_nursery() as nursery:
        address = await start(nursery, actor)
        current_registry().group_add("room", address)
        actor.send_nowait({"type": "sleep"})
        actor.send_nowait({"type": "sleep"})
        await trio.testing.wait_all_tasks_blocked()
        mailbox = actor.mailbox
        assert mailbox is not None
        nursery.cancel_scope.cancel()
    assert_gone(address)
    assert mailbox.closed
    assert mailbox.statistics().discarded == 1  # the one never taken


async def test_run_timing_out_still_unregisters(autojump_clock: trio.testing.MockClock) -> None:
    actor = Recorder()
    with pytest.raises(trio.TooSlowError):
        with trio.fail_after(30):
            await actor.run()
    assert actor.address is not None
    assert_gone(actor.address)
    assert trio.current_time() == 30


async def test_run_ends_when_its_owner_shuts_down() -> None:
    actors = [Recorder(), Sleeper()]
    async with trio.open_nursery() as nursery:
        for actor in actors:
            await start(nursery, actor)
        assert len(current_runtime().actors) == 2
        nursery.cancel_scope.cancel()
    assert current_runtime().actors == {}
    assert current_registry().addresses() == []


async def test_run_returns_when_someone_else_unregisters_its_address() -> None:
    actor = Recorder()
    async with trio.open_nursery() as nursery:
        address = await start(nursery, actor)
        current_registry().unregister(address)
        await trio.testing.wait_all_tasks_blocked()
        assert actor.mailbox is None  # run() has returned and detached
    assert_gone(address)


async def test_run_drains_and_returns_when_someone_else_closes_its_mailbox() -> None:
    actor = Recorder()
    async with trio.open_nursery() as nursery:
        address = await start(nursery, actor)
        mailbox = current_registry().lookup(address)
        assert mailbox is not None
        actor.send_nowait({"type": "note", "n": 1})
        mailbox.close()
    assert actor.seen == [{"type": "note", "n": 1}]
    assert_gone(address)


# -- attach, serve, send_nowait ------------------------------------------------------------------


async def test_attach_registers_with_the_class_mailbox_settings() -> None:
    class Configured(Actor):
        mailbox_capacity = 7
        overflow_policy = "drop_oldest"
        address_prefix = "worker"

    actor = Configured()
    with actor.attach() as mailbox:
        assert actor.mailbox is mailbox
        assert actor.address is not None
        assert actor.address.startswith(f"worker.{process_name()}!")
        assert current_registry().lookup(actor.address) is mailbox
        assert current_runtime().actors[actor.address] is actor
        assert (mailbox.capacity, mailbox.policy) == (7, OverflowPolicy.DROP_OLDEST)
    assert actor.statistics().mailbox is None
    assert_gone(actor.address)


async def test_attach_twice_is_refused() -> None:
    actor = Recorder()
    with actor.attach():
        with (
            pytest.raises(
                RuntimeError, match=re.escape(f"Recorder {actor.address!r} is already running.")
            ),
            actor.attach(),
        ):
            pass  # pragma: no cover
        assert actor.mailbox is not None  # the first attachment is untouched


async def test_attach_detaches_even_when_the_block_raises() -> None:
    actor = Recorder()
    addresses: list[str | None] = []

    def fail_inside() -> None:
        with actor.attach():
            addresses.append(actor.address)
            raise KeyError("inside")

    with pytest.raises(KeyError, match="inside"):
        fail_inside()
    [address] = addresses
    assert address is not None
    assert_gone(address)


async def test_an_actor_can_run_again_under_a_new_address() -> None:
    actor = Recorder()
    with actor.attach():
        first = actor.address
    with actor.attach():
        assert actor.address != first


async def test_run_registers_in_the_runtime_it_is_given() -> None:
    runtime = Runtime()
    actor = Recorder()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(actor.run, runtime)
        await trio.testing.wait_all_tasks_blocked()
        assert actor.address in runtime.registry
        assert actor.address not in current_registry()
        actor.request_stop()
    assert runtime.actors == {}


async def test_serve_needs_attach() -> None:
    with pytest.raises(RuntimeError, match=re.escape("Recorder must be attached before serve().")):
        await Recorder().serve()


def test_send_nowait_needs_a_running_actor() -> None:
    with pytest.raises(RuntimeError, match=re.escape("Recorder is not running.")):
        Recorder().send_nowait({"type": "note"})


async def test_statistics_before_during_and_after_a_run() -> None:
    actor = Recorder()
    assert actor.statistics() == ActorStatistics(
        address=None, actor_class="Recorder", handled=0, mailbox=None
    )
    with actor.attach() as mailbox:
        actor.send_nowait({"type": "note"})
        actor.send_nowait({"type": "note"})
        actor.request_stop()
        during = actor.statistics()
        await actor.serve()
    assert during.address == actor.address
    assert during.mailbox is not None
    assert (during.mailbox.depth, during.mailbox.name) == (2, actor.address)
    assert actor.statistics() == ActorStatistics(
        address=actor.address, actor_class="Recorder", handled=2, mailbox=None
    )
    assert mailbox.statistics().received == 2


async def test_repr_shows_address_and_depth() -> None:
    actor = Recorder()
    assert repr(actor) == "<Recorder (not running) depth=nan>"
    with actor.attach():
        actor.send_nowait({"type": "note"})
        assert repr(actor) == f"<Recorder {actor.address} depth=1>"
