"""ApplicationCommunicator: the three ways to own the application, errors, timeouts."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from callboard._asgi import Receive, Scope, Send
from callboard.testing import TEST_EXTENSION, ApplicationCommunicator

from ._apps import Boom, Recorder, crash_on_boom, silent

WS_SCOPE: Scope = {"type": "websocket", "path": "/", "headers": [], "subprotocols": []}


async def greeter(scope: Scope, receive: Receive, send: Send) -> None:
    event = await receive()
    await send({"type": "greeting", "to": event["name"]})


async def test_send_input_reaches_the_application_and_receive_output_returns_its_reply() -> None:
    async with ApplicationCommunicator(greeter, WS_SCOPE) as comm:
        await comm.send_input({"type": "hello", "name": "ada"})
        assert await comm.receive_output() == {"type": "greeting", "to": "ada"}


async def test_the_application_gets_a_copy_of_the_scope_with_the_report_hook() -> None:
    recorder = Recorder()
    scope = dict(WS_SCOPE, extensions={"other": {}})
    async with ApplicationCommunicator(recorder, scope) as comm:
        await comm.send_input({"type": "websocket.connect"})
        await comm.receive_output()
        assert recorder.scope is comm.scope
    assert "callboard.test" not in scope["extensions"]
    assert recorder.scope["extensions"]["other"] == {}
    assert callable(recorder.scope["extensions"][TEST_EXTENSION]["report_exception"])


async def test_receive_output_times_out_with_timeout_error_and_cancels_the_app(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder()
    comm = ApplicationCommunicator(recorder, WS_SCOPE)
    start = trio.current_time()
    with pytest.raises(TimeoutError, match=r"sent nothing within 5 s; it has been cancelled"):
        await comm.receive_output(timeout=5)
    assert trio.current_time() - start == pytest.approx(5)
    assert recorder.cancelled


async def test_receive_output_after_the_app_finished_raises_timeout_error_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with ApplicationCommunicator(greeter, WS_SCOPE) as comm:
        await comm.send_input({"type": "hello", "name": "ada"})
        await comm.receive_output()
        start = trio.current_time()
        with pytest.raises(TimeoutError, match="has finished; it will send nothing more"):
            await comm.receive_output(timeout=30)
        assert trio.current_time() == start


async def test_receive_nothing_is_true_when_nothing_comes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with ApplicationCommunicator(silent, WS_SCOPE) as comm:
        start = trio.current_time()
        assert await comm.receive_nothing(timeout=2)
        assert trio.current_time() - start == pytest.approx(2)


async def test_receive_nothing_is_false_when_something_comes_and_leaves_it_queued(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def late(scope: Scope, receive: Receive, send: Send) -> None:
        await trio.sleep(1)
        await send({"type": "late"})
        await trio.sleep_forever()

    async with ApplicationCommunicator(late, WS_SCOPE) as comm:
        start = trio.current_time()
        assert not await comm.receive_nothing(timeout=10)
        assert trio.current_time() - start == pytest.approx(1)
        assert await comm.receive_output() == {"type": "late"}


async def test_an_app_exception_surfaces_at_once_with_its_own_traceback(
    autojump_clock: trio.testing.MockClock,
) -> None:
    comm = ApplicationCommunicator(crash_on_boom, WS_SCOPE)
    await comm.send_input({"type": "websocket.connect"})
    await comm.receive_output()
    await comm.send_input({"type": "websocket.receive", "text": "boom"})
    start = trio.current_time()
    with pytest.raises(Boom, match="the application blew up") as excinfo:
        await comm.receive_output(timeout=60)
    assert trio.current_time() == start, "waited for the timeout instead"
    assert excinfo.traceback[-1].name == "crash_on_boom"


async def test_an_app_exception_is_raised_by_every_later_call() -> None:
    comm = ApplicationCommunicator(crash_on_boom, WS_SCOPE)
    await comm.send_input({"type": "websocket.connect"})
    await comm.send_input({"type": "websocket.receive", "text": "boom"})
    await trio.testing.wait_all_tasks_blocked()
    with pytest.raises(Boom):
        await comm.receive_output()
    with pytest.raises(Boom):
        await comm.send_input({"type": "websocket.disconnect"})
    with pytest.raises(Boom):
        await comm.wait()


async def test_a_malformed_event_from_the_app_surfaces_as_type_error() -> None:
    async def untyped(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"text": "no type"})

    comm = ApplicationCommunicator(untyped, WS_SCOPE)
    with pytest.raises(TypeError, match="needs a 'type' key"):
        await comm.receive_output()


async def test_a_reported_exception_is_raised_once_by_the_next_call() -> None:
    async def reporter(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        try:
            raise Boom("handled but reported")
        except Boom as exc:
            scope["extensions"][TEST_EXTENSION]["report_exception"](exc)
        await send({"type": "websocket.close", "code": 1011})

    async with ApplicationCommunicator(reporter, WS_SCOPE) as comm:
        await comm.send_input({"type": "websocket.connect"})
        with pytest.raises(Boom, match="handled but reported") as excinfo:
            await comm.receive_output()
        assert excinfo.traceback[-1].name == "reporter"
        assert await comm.receive_output() == {"type": "websocket.close", "code": 1011}


async def test_wait_raises_timeout_error_and_cancels_an_app_that_does_not_finish(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder()
    comm = ApplicationCommunicator(recorder, WS_SCOPE)
    with pytest.raises(TimeoutError, match="did not finish within 3 s"):
        await comm.wait(timeout=3)
    assert recorder.cancelled


async def test_stop_cancels_the_app_and_wait_joins_it() -> None:
    recorder = Recorder()
    comm = ApplicationCommunicator(recorder, WS_SCOPE)
    await comm.send_input({"type": "websocket.connect"})
    await comm.receive_output()
    comm.stop()
    await comm.wait()
    assert recorder.cancelled


async def test_stop_reraises_the_error_of_a_finished_app() -> None:
    comm = ApplicationCommunicator(crash_on_boom, WS_SCOPE)
    await comm.send_input({"type": "websocket.connect"})
    await comm.send_input({"type": "websocket.receive", "text": "boom"})
    await trio.testing.wait_all_tasks_blocked()
    with pytest.raises(Boom):
        comm.stop()
    comm.stop(exceptions=False)


async def test_a_cancelled_receive_output_loses_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with ApplicationCommunicator(greeter, WS_SCOPE) as comm:
        with trio.move_on_after(1):
            await comm.receive_output(timeout=10)
        await comm.send_input({"type": "hello", "name": "bo"})
        assert await comm.receive_output() == {"type": "greeting", "to": "bo"}


# -- who owns the application's task ------------------------------------------------------


async def test_async_with_cancels_a_still_running_app_on_exit() -> None:
    recorder = Recorder()
    async with ApplicationCommunicator(recorder, WS_SCOPE) as comm:
        await comm.send_input({"type": "http.request"})
        await trio.testing.wait_all_tasks_blocked()
    assert recorder.finished
    assert recorder.cancelled


async def test_async_with_raises_an_app_error_nobody_has_seen_on_exit() -> None:
    async def unread_crash() -> None:
        async with ApplicationCommunicator(crash_on_boom, WS_SCOPE) as comm:
            await comm.send_input({"type": "websocket.connect"})
            await comm.send_input({"type": "websocket.receive", "text": "boom"})
            await trio.testing.wait_all_tasks_blocked()

    with pytest.raises(Boom):
        await unread_crash()


async def test_async_with_does_not_reraise_an_app_error_already_seen() -> None:
    async with ApplicationCommunicator(crash_on_boom, WS_SCOPE) as comm:
        await comm.send_input({"type": "websocket.connect"})
        await comm.send_input({"type": "websocket.receive", "text": "boom"})
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(Boom):
            await comm.receive_output()


async def test_a_failing_block_keeps_its_error_and_notes_the_apps() -> None:
    async def failing_block() -> None:
        async with ApplicationCommunicator(crash_on_boom, WS_SCOPE) as comm:
            await comm.send_input({"type": "websocket.connect"})
            await comm.send_input({"type": "websocket.receive", "text": "boom"})
            await trio.testing.wait_all_tasks_blocked()
            raise AssertionError("the test's own failure")

    with pytest.raises(AssertionError, match="the test's own failure") as excinfo:
        await failing_block()
    assert any("Boom('the application blew up')" in note for note in excinfo.value.__notes__)


async def test_start_runs_the_app_in_the_given_nursery(nursery: trio.Nursery) -> None:
    recorder = Recorder()
    comm = ApplicationCommunicator(recorder, WS_SCOPE)
    await comm.start(nursery)
    await comm.send_input({"type": "websocket.connect"})
    assert await comm.receive_output() == {"type": "websocket.accept"}
    await comm.aclose()
    assert recorder.cancelled


async def test_the_nursery_ending_cancels_the_app() -> None:
    recorder = Recorder()
    comm = ApplicationCommunicator(recorder, WS_SCOPE)
    async with trio.open_nursery() as nursery:
        await comm.start(nursery)
        await comm.send_input({"type": "websocket.connect"})
        await comm.receive_output()
        nursery.cancel_scope.cancel()
    assert recorder.cancelled


async def test_an_app_cannot_be_started_twice(nursery: trio.Nursery) -> None:
    comm = ApplicationCommunicator(silent, WS_SCOPE)
    await comm.start(nursery)
    with pytest.raises(RuntimeError, match="already been started"):
        await comm.start(nursery)
    with pytest.raises(RuntimeError, match="already been started"):
        async with comm:
            pass
    await comm.aclose()


async def test_without_async_with_the_first_call_starts_the_app_and_wait_joins_it() -> None:
    recorder = Recorder()
    comm = ApplicationCommunicator(recorder, WS_SCOPE)
    await comm.send_input({"type": "websocket.connect"})
    assert await comm.receive_output() == {"type": "websocket.accept"}
    await comm.send_input({"type": "websocket.disconnect", "code": 1000})
    await comm.wait()
    assert recorder.finished
    assert not recorder.cancelled


@pytest.mark.anyio
async def test_the_channels_style_works_on_both_backends() -> None:
    recorder = Recorder()
    comm = ApplicationCommunicator(recorder, WS_SCOPE)
    await comm.send_input({"type": "websocket.connect"})
    assert await comm.receive_output() == {"type": "websocket.accept"}
    assert await comm.receive_nothing()
    await comm.send_input({"type": "websocket.disconnect", "code": 1000})
    await comm.wait()
    assert recorder.events == [
        {"type": "websocket.connect"},
        {"type": "websocket.disconnect", "code": 1000},
    ]


@pytest.mark.anyio
async def test_an_app_exception_surfaces_on_both_backends() -> None:
    async with ApplicationCommunicator(crash_on_boom, WS_SCOPE) as comm:
        await comm.send_input({"type": "websocket.connect"})
        await comm.receive_output()
        await comm.send_input({"type": "websocket.receive", "text": "boom"})
        with pytest.raises(Boom) as excinfo:
            await comm.receive_output(timeout=30)
        assert excinfo.traceback[-1].name == "crash_on_boom"


async def test_an_error_raised_while_the_app_is_cancelled_after_a_timeout_surfaces(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def fails_when_cancelled(scope: Scope, receive: Receive, send: Send) -> None:
        async def child() -> None:
            try:
                await trio.sleep_forever()
            finally:
                raise Boom("cleanup failed")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(child)
            await trio.sleep_forever()

    comm = ApplicationCommunicator(fails_when_cancelled, WS_SCOPE)
    with pytest.raises(ExceptionGroup) as excinfo:
        await comm.receive_output(timeout=1)
    assert excinfo.group_contains(Boom, match="cleanup failed")
