"""AsyncConsumer and SyncConsumer: the actor under every consumer.

Building the application (``as_asgi``), the connection's address and
mailbox, dispatch with and without threads, ``spawn``, and cleanup however
the connection ends: no actor, mailbox, group, membership or task outlives it.
"""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest
import trio
import trio.testing

from callboard.actors import (
    OverflowPolicy,
    current_registry,
    current_runtime,
    require_valid_channel_name,
)
from callboard.consumers import AsyncConsumer, AsyncWebsocketConsumer, SyncConsumer
from callboard.exceptions import ChannelFull, NoHandlerError, StopConsumer
from callboard.layers import get_channel_layer
from callboard.testing import WebsocketCommunicator

from ._helpers import Boom, count_tasks, error_records, live, running_supervisor, the_one


class Greeter(AsyncConsumer):
    """Raw handlers: accept, answer every frame with the greeting, stop on disconnect."""

    greeting = "hello"
    gate: anyio.Event | None = None

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        await self.send({"type": "websocket.accept"})

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        if self.gate is not None:
            await self.gate.wait()
        await self.send({"type": "websocket.send", "text": f"{self.greeting} {message['text']}"})

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        raise StopConsumer

    async def note_added(self, message: dict[str, Any]) -> None:
        await self.send({"type": "websocket.send", "text": message["text"]})


def occupancy() -> tuple[int, int, int, int]:
    """What a finished connection must not leave behind: actors, mailboxes, groups, members."""
    stats = current_runtime().statistics()
    registry = stats.registry
    return (stats.actors, registry.mailboxes, registry.groups, registry.memberships)


# -- as_asgi ---------------------------------------------------------------------------


async def test_as_asgi_keywords_become_instance_attributes() -> None:
    async with WebsocketCommunicator(Greeter.as_asgi(greeting="bonjour"), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="world")
        assert await comm.receive_from() == "bonjour world"
    assert Greeter.greeting == "hello"


async def test_as_asgi_refuses_an_unknown_keyword_naming_it_and_the_valid_ones() -> None:
    with pytest.raises(
        TypeError,
        match=(
            r"^Greeter\.as_asgi\(\) got an unexpected keyword 'greting': Greeter has no such "
            r"attribute\. Attributes you can set: address_prefix, channel_layer_alias, "
            r"cleanup_timeout, gate, greeting, mailbox_capacity, overflow_policy, "
            r"presence_batch_interval, presence_events, presence_groups, rate_limit\.$"
        ),
    ):
        Greeter.as_asgi(greting="bonjour")


@pytest.mark.parametrize("name", ["mailbox", "address", "scope", "channel_name", "_failure"])
async def test_as_asgi_refuses_the_runtime_s_own_state(name: str) -> None:
    with pytest.raises(TypeError, match=rf"got an unexpected keyword '{name}'"):
        Greeter.as_asgi(**{name: None})


async def test_as_asgi_refuses_a_method_name() -> None:
    with pytest.raises(TypeError, match=r"got 'send', which is a method; only data attributes"):
        Greeter.as_asgi(send=None)


async def test_as_asgi_passes_named_parameters_to_a_user_defined_init() -> None:
    class RoomGreeter(Greeter):
        def __init__(self, room: str, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.greeting = f"welcome to {room},"

    async with WebsocketCommunicator(RoomGreeter.as_asgi(room="lobby"), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="ada")
        assert await comm.receive_from() == "welcome to lobby, ada"


async def test_as_asgi_checks_the_keywords_against_a_user_defined_init() -> None:
    class RoomGreeter(Greeter):
        def __init__(self, room: str) -> None:
            super().__init__()
            self.room = room

    with pytest.raises(TypeError, match=r"RoomGreeter\.as_asgi\(\): missing a required argument"):
        RoomGreeter.as_asgi()


async def test_as_asgi_leaves_keywords_to_a_user_defined_init_taking_kwargs() -> None:
    class ChannelsStyle(Greeter):  # a Channels port: __init__(*args, **kwargs) pops its own
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.greeting = f"welcome to {kwargs.pop('room')},"
            super().__init__(*args, **kwargs)

    async with WebsocketCommunicator(ChannelsStyle.as_asgi(room="lobby"), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="ada")
        assert await comm.receive_from() == "welcome to lobby, ada"


async def test_as_asgi_marks_the_application_with_its_class_and_keywords() -> None:
    app = Greeter.as_asgi(greeting="hi")
    assert app.consumer_class is Greeter  # type: ignore[attr-defined]
    assert app.consumer_initkwargs == {"greeting": "hi"}  # type: ignore[attr-defined]
    assert app.__name__ == "Greeter"
    assert app.__doc__ == Greeter.__doc__


async def test_as_asgi_refuses_an_unknown_overflow_policy() -> None:
    class Sloppy(Greeter):
        overflow_policy = "drop_everything"

    with pytest.raises(
        ValueError, match=r"Sloppy\.overflow_policy: Unknown overflow policy 'drop_everything'"
    ):
        Sloppy.as_asgi()


async def test_as_asgi_refuses_a_capacity_that_is_not_positive() -> None:
    with pytest.raises(
        ValueError, match=r"Greeter\.mailbox_capacity must be a positive int, got 0\."
    ):
        Greeter.as_asgi(mailbox_capacity=0)


async def test_every_connection_gets_its_own_instance() -> None:
    app = Greeter.as_asgi()
    async with WebsocketCommunicator(app, "/") as one, WebsocketCommunicator(app, "/") as two:
        await one.connect()
        await two.connect()
        first, second = live(Greeter)
        assert first is not second
        assert first.channel_name != second.channel_name


# -- address and mailbox -----------------------------------------------------------------


async def test_channel_name_is_a_valid_process_local_name_with_a_mailbox() -> None:
    async with WebsocketCommunicator(Greeter.as_asgi(), "/") as comm:
        await comm.connect()
        name = the_one(Greeter).channel_name
        require_valid_channel_name(name)
        assert name.startswith("specific.")
        assert "!" in name
        assert current_registry().lookup(name) is not None


async def test_a_layer_message_sent_to_channel_name_reaches_its_handler() -> None:
    async with WebsocketCommunicator(Greeter.as_asgi(), "/") as comm:
        await comm.connect()
        name = the_one(Greeter).channel_name
        await get_channel_layer().send(name, {"type": "note.added", "text": "hi"})
        assert await comm.receive_from() == "hi"


async def test_the_mailbox_takes_capacity_and_policy_from_the_class() -> None:
    class Small(Greeter):
        mailbox_capacity = 7
        overflow_policy = "drop_oldest"

    async with WebsocketCommunicator(Small.as_asgi(), "/") as comm:
        await comm.connect()
        mailbox = current_registry().lookup(the_one(Small).channel_name)
        assert mailbox is not None
        assert (mailbox.capacity, mailbox.policy) == (7, OverflowPolicy.DROP_OLDEST)


async def test_drop_oldest_keeps_the_newest_messages_of_a_busy_consumer() -> None:
    class Small(Greeter):
        mailbox_capacity = 2
        overflow_policy = "drop_oldest"

    gate = anyio.Event()
    async with WebsocketCommunicator(Small.as_asgi(gate=gate), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="busy")
        await trio.testing.wait_all_tasks_blocked()
        name = the_one(Small).channel_name
        for n in range(4):
            await get_channel_layer().send(name, {"type": "note.added", "text": str(n)})
        gate.set()
        assert await comm.receive_from() == "hello busy"
        assert [await comm.receive_from(), await comm.receive_from()] == ["2", "3"]
        assert await comm.receive_nothing()
        stats = current_registry().lookup(name).statistics()  # type: ignore[union-attr]
        assert stats.dropped_oldest == 2


async def test_reject_raises_channel_full_to_the_sender() -> None:
    class Small(Greeter):
        mailbox_capacity = 1
        overflow_policy = "reject"

    gate = anyio.Event()
    async with WebsocketCommunicator(Small.as_asgi(gate=gate), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="busy")
        await trio.testing.wait_all_tasks_blocked()
        name = the_one(Small).channel_name
        layer = get_channel_layer()
        await layer.send(name, {"type": "note.added", "text": "fits"})
        with pytest.raises(ChannelFull, match=r"is full \(capacity 1\)"):
            await layer.send(name, {"type": "note.added", "text": "does not"})
        gate.set()
        assert await comm.receive_from() == "hello busy"
        assert await comm.receive_from() == "fits"


async def test_the_disconnect_policy_stops_a_plain_consumer() -> None:
    class Small(Greeter):
        mailbox_capacity = 1
        overflow_policy = "disconnect"

    gate = anyio.Event()
    async with WebsocketCommunicator(Small.as_asgi(gate=gate), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="busy")
        await trio.testing.wait_all_tasks_blocked()
        name = the_one(Small).channel_name
        for n in range(2):
            await get_channel_layer().send(name, {"type": "note.added", "text": str(n)})
        gate.set()
        assert await comm.receive_from() == "hello busy"
        await comm.wait()
    assert live(Small) == []


# -- dispatch --------------------------------------------------------------------------


async def test_async_handlers_run_on_the_event_loop_without_a_worker_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an async consumer used a worker thread")

    monkeypatch.setattr(anyio.to_thread, "run_sync", refuse)
    monkeypatch.setattr(trio.to_thread, "run_sync", refuse)
    threads: list[int] = []

    class Watched(Greeter):
        async def websocket_receive(self, message: dict[str, Any]) -> None:
            threads.append(threading.get_ident())
            await super().websocket_receive(message)

        async def note_added(self, message: dict[str, Any]) -> None:
            threads.append(threading.get_ident())
            await super().note_added(message)

    async with WebsocketCommunicator(Watched.as_asgi(), "/") as comm:
        await comm.connect()
        for n in range(3):
            await comm.send_to(text_data=str(n))
            assert await comm.receive_from() == f"hello {n}"
            await get_channel_layer().send(
                the_one(Watched).channel_name, {"type": "note.added", "text": str(n)}
            )
            assert await comm.receive_from() == str(n)
    assert threads == [threading.get_ident()] * 6


class Threaded(SyncConsumer):
    """Plain handlers, run in worker threads; each records the thread it ran in."""

    threads: list[threading.Thread] | None = None

    def websocket_connect(self, message: dict[str, Any]) -> None:
        self.send({"type": "websocket.accept"})

    def websocket_receive(self, message: dict[str, Any]) -> None:
        assert self.threads is not None
        self.threads.append(threading.current_thread())
        self.send({"type": "websocket.send", "text": message["text"].upper()})

    def websocket_disconnect(self, message: dict[str, Any]) -> None:
        raise StopConsumer


async def test_sync_handlers_run_in_a_worker_thread() -> None:
    threads: list[threading.Thread] = []
    async with WebsocketCommunicator(Threaded.as_asgi(threads=threads), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="hi")
        await comm.receive_from()
    assert len(threads) == 1
    assert threads[0] is not threading.main_thread()


async def test_sync_send_from_the_handler_thread_reaches_the_client() -> None:
    async with WebsocketCommunicator(Threaded.as_asgi(threads=[]), "/") as comm:
        assert await comm.connect() == (True, None)
        await comm.send_to(text_data="shout")
        assert await comm.receive_from() == "SHOUT"


async def test_a_sync_consumer_without_a_handler_is_told_to_define_a_plain_method() -> None:
    async with WebsocketCommunicator(Threaded.as_asgi(threads=[]), "/") as comm:
        await comm.connect()
        await get_channel_layer().send(
            the_one(Threaded).channel_name, {"type": "note.added", "text": "x"}
        )
        with pytest.raises(
            NoHandlerError,
            match=(
                r"No handler for message type 'note\.added' on Threaded: "
                r"define `def note_added\(self, event\)` on Threaded"
            ),
        ):
            await comm.receive_output()


async def test_stop_consumer_in_a_handler_ends_the_connection_cleanly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Quitter(Greeter):
        async def websocket_receive(self, message: dict[str, Any]) -> None:
            raise StopConsumer

    async with WebsocketCommunicator(Quitter.as_asgi(), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="bye")
        await comm.wait()
    assert error_records(caplog) == []
    assert occupancy() == (0, 0, 0, 0)


# -- spawn -----------------------------------------------------------------------------


class Spawner(AsyncWebsocketConsumer):
    """``receive`` spawns ``slow`` (which never ends by itself) and answers at once."""

    groups = ["spawners"]
    record: list[str] | None = None
    failing = False

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        self.spawn(self.slow, text_data)
        await self.send(text_data="spawned")

    async def slow(self, text: str) -> None:
        assert self.record is not None
        self.record.append(f"slow {text} started")
        try:
            if self.failing:
                await anyio.sleep(1)
                raise Boom("the spawned task blew up")
            if text == "stop":
                await anyio.sleep(1)
                raise StopConsumer
            await anyio.sleep_forever()
        finally:
            self.record.append(f"slow {text} ended")

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])

    async def disconnect(self, code: int) -> None:
        assert self.record is not None
        self.record.append(f"disconnect {code}")


async def test_a_spawned_task_does_not_block_group_messages() -> None:
    record: list[str] = []
    async with WebsocketCommunicator(Spawner.as_asgi(record=record), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="work")
        assert await comm.receive_from() == "spawned"
        await get_channel_layer().group_send("spawners", {"type": "chat.message", "text": "hi"})
        assert await comm.receive_from() == "hi"
        assert record == ["slow work started"]


async def test_a_spawned_task_does_not_block_disconnect_and_is_cancelled_by_it() -> None:
    record: list[str] = []
    comm = WebsocketCommunicator(Spawner.as_asgi(record=record), "/")
    async with comm:
        await comm.connect()
        await comm.send_to(text_data="work")
        await comm.receive_from()
        await comm.disconnect(code=4000)
    assert record == ["slow work started", "disconnect 4000", "slow work ended"]
    assert occupancy() == (0, 0, 0, 0)


async def test_a_spawned_task_that_raises_fails_the_connection_like_a_handler(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    record: list[str] = []
    async with WebsocketCommunicator(Spawner.as_asgi(record=record, failing=True), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="work")
        assert await comm.receive_from() == "spawned"
        with pytest.raises(Boom, match="the spawned task blew up"):
            await comm.receive_output(timeout=5)
        assert await comm.receive_output() == {"type": "websocket.close", "code": 1011}
        await comm.wait()
    (error,) = error_records(caplog)
    assert error.exc_info is not None
    assert isinstance(error.exc_info[1], Boom)
    assert current_registry().members("spawners") == []


async def test_a_spawned_task_raising_stop_consumer_ends_the_connection_cleanly(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    record: list[str] = []
    async with WebsocketCommunicator(Spawner.as_asgi(record=record), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="stop")
        assert await comm.receive_from() == "spawned"
        await comm.wait(timeout=5)
    assert error_records(caplog) == []
    assert record == ["slow stop started", "slow stop ended"]
    assert occupancy() == (0, 0, 0, 0)


async def test_spawn_outside_a_connection_is_a_runtime_error() -> None:
    with pytest.raises(RuntimeError, match=r"Spawner\.spawn\(\) needs a running connection"):
        Spawner().spawn(anyio.sleep, 1)


async def test_a_sync_consumer_can_spawn_from_its_handler_thread() -> None:
    class SyncSpawner(Threaded):
        def websocket_receive(self, message: dict[str, Any]) -> None:
            self.spawn(self.later, message["text"])

        async def later(self, text: str) -> None:
            await AsyncConsumer.send(self, {"type": "websocket.send", "text": f"later {text}"})

    async with WebsocketCommunicator(SyncSpawner.as_asgi(threads=[]), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="x")
        assert await comm.receive_from() == "later x"


# -- cleanup on every path -------------------------------------------------------------


class Member(AsyncWebsocketConsumer):
    """Joins ``members``; ``receive`` hangs on "hang" and raises on "boom"."""

    groups = ["members"]
    record: list[str] | None = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data == "hang":
            await anyio.sleep_forever()
        if text_data == "boom":
            raise Boom("receive blew up")
        await self.send(text_data=text_data)

    async def disconnect(self, code: int) -> None:
        if self.record is not None:
            self.record.append(f"disconnect {code}")


async def test_cancelling_the_application_midway_through_a_handler_releases_everything() -> None:
    record: list[str] = []
    async with WebsocketCommunicator(Member.as_asgi(record=record), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="hang")
        await trio.testing.wait_all_tasks_blocked()
        assert len(current_registry().members("members")) == 1
        comm.stop()
        await comm.wait()
    assert occupancy() == (0, 0, 0, 0)
    assert record == []  # cancellation is not a disconnect: disconnect() does not run


async def test_cancelling_the_owner_s_nursery_releases_everything() -> None:
    with trio.CancelScope() as scope:
        async with trio.open_nursery() as owner:
            comm = WebsocketCommunicator(Member.as_asgi(), "/")
            await comm.start(owner)
            await comm.connect()
            assert occupancy() == (1, 1, 1, 1)
            scope.cancel()
    assert scope.cancelled_caught
    assert occupancy() == (0, 0, 0, 0)


async def test_shutdown_grace_cancels_a_consumer_stuck_in_a_handler(
    autojump_clock: trio.testing.MockClock,
) -> None:
    record: list[str] = []
    async with (
        running_supervisor() as supervisor,
        WebsocketCommunicator(Member.as_asgi(record=record), "/") as comm,
    ):
        await comm.connect()
        await comm.send_to(text_data="hang")
        await trio.testing.wait_all_tasks_blocked()
        start = trio.current_time()
        await supervisor.shutdown(3)
        assert trio.current_time() - start == pytest.approx(3)
        await comm.wait()
    assert occupancy() == (0, 0, 0, 0)
    assert record == []


async def test_crash_cleanup_is_bounded_by_cleanup_timeout(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    class Hanging(Member):
        cleanup_timeout = 2.0

        async def on_crash(self, failure: BaseException) -> None:
            await anyio.sleep_forever()

    async with WebsocketCommunicator(Hanging.as_asgi(), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="boom")
        start = trio.current_time()
        with pytest.raises(Boom):
            await comm.receive_output()
        await comm.wait(timeout=10)
        assert trio.current_time() - start == pytest.approx(2)
    assert len(error_records(caplog)) == 1
    assert occupancy() == (0, 0, 0, 0)


async def test_a_thousand_connections_leave_no_actor_mailbox_group_or_task() -> None:
    app = Member.as_asgi()
    before = (occupancy(), count_tasks())

    async def converse(n: int) -> None:
        async with WebsocketCommunicator(app, "/") as comm:
            await comm.connect()
            await comm.send_to(text_data=str(n))
            assert await comm.receive_from() == str(n)

    for batch in range(10):
        async with trio.open_nursery() as nursery:
            for n in range(100):
                nursery.start_soon(converse, batch * 100 + n)
    assert (occupancy(), count_tasks()) == before
    assert before[0] == (0, 0, 0, 0)


async def test_connections_ending_every_way_leave_nothing_behind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Member.as_asgi()
    before = (occupancy(), count_tasks())

    async def converse(n: int) -> None:
        async with WebsocketCommunicator(app, "/") as comm:
            await comm.connect()
            way = n % 3
            if way == 0:  # the client disconnects (on leaving the block)
                await comm.send_to(text_data="hi")
                await comm.receive_from()
            elif way == 1:  # a handler raises
                await comm.send_to(text_data="boom")
                with pytest.raises(Boom):
                    await comm.receive_output()
                await comm.wait()
            else:  # the application is cancelled in a handler
                await comm.send_to(text_data="hang")
                await trio.testing.wait_all_tasks_blocked()
                comm.stop()
                await comm.wait()

    async with trio.open_nursery() as nursery:
        for n in range(300):
            nursery.start_soon(converse, n)
    assert (occupancy(), count_tasks()) == before
    assert len(error_records(caplog)) == 100


async def test_a_thousand_sync_connections_leave_nothing_behind() -> None:
    app = Threaded.as_asgi(threads=[])
    before = (occupancy(), count_tasks())

    async def converse() -> None:
        async with WebsocketCommunicator(app, "/") as comm:
            await comm.connect()
            await comm.send_to(text_data="x")
            assert await comm.receive_from() == "X"

    for _ in range(10):
        async with trio.open_nursery() as nursery:
            for _ in range(100):
                nursery.start_soon(converse)
    assert (occupancy(), count_tasks()) == before
