"""WebsocketCommunicator: Channels' WebSocket shortcuts and scope."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from callboard._asgi import Receive, Scope, Send
from callboard.testing import TEST_EXTENSION, WebsocketCommunicator

from ._apps import Boom, Recorder, crash_on_boom, echo, reject, report_on_boom, silent


async def test_the_scope_has_channels_keys_and_the_server_extras() -> None:
    recorder = Recorder()
    comm = WebsocketCommunicator(
        recorder,
        "/chat/caf%C3%A9/?room=1&x=y",
        headers=[(b"origin", b"http://testserver"), ("cookie", "a=b")],
        subprotocols=["v2", "v1"],
        spec_version="2.3",
    )
    async with comm:
        await comm.connect()
    scope = dict(recorder.scope or {})
    extensions = scope.pop("extensions")
    assert scope == {
        "type": "websocket",
        "path": "/chat/café/",
        "raw_path": b"/chat/caf%C3%A9/",
        "query_string": b"room=1&x=y",
        "headers": [(b"origin", b"http://testserver"), (b"cookie", b"a=b")],
        "subprotocols": ["v2", "v1"],
        "spec_version": "2.3",
        "client": ("127.0.0.1", 0),
        "server": ("testserver", 80),
    }
    assert set(extensions) == {TEST_EXTENSION}


async def test_a_path_that_is_not_a_str_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="Expected str, got <class 'bytes'>"):
        WebsocketCommunicator(echo, b"/ws/")  # type: ignore[arg-type]


async def test_a_malformed_header_is_a_type_error() -> None:
    with pytest.raises(
        TypeError, match=r"Header names and values are bytes or str; got \(b'a', 1\)"
    ):
        WebsocketCommunicator(echo, "/", headers=[(b"a", 1)])  # type: ignore[list-item]


async def test_connect_returns_true_and_the_subprotocol_on_accept() -> None:
    async with WebsocketCommunicator(echo, "/ws/", subprotocols=["chat.v2", "chat.v1"]) as comm:
        assert await comm.connect() == (True, "chat.v2")
        assert comm.response_headers == []


async def test_connect_returns_true_and_none_without_a_subprotocol() -> None:
    async with WebsocketCommunicator(echo, "/ws/") as comm:
        assert await comm.connect() == (True, None)


async def test_connect_returns_false_and_the_code_when_closed_before_accept() -> None:
    async with WebsocketCommunicator(reject, "/ws/") as comm:
        assert await comm.connect() == (False, 4403)


async def test_connect_times_out_with_timeout_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    comm = WebsocketCommunicator(silent, "/ws/")
    with pytest.raises(TimeoutError):
        await comm.connect(timeout=2)


async def test_text_bytes_and_json_frames_round_trip() -> None:
    async with WebsocketCommunicator(echo, "/ws/") as comm:
        await comm.connect()
        await comm.send_to(text_data="hello")
        assert await comm.receive_from() == "hello"
        await comm.send_to(bytes_data=b"\x00\x01")
        assert await comm.receive_from() == b"\x00\x01"
        await comm.send_json_to({"n": [1, 2]})
        assert await comm.receive_json_from() == {"n": [1, 2]}
        await comm.send_to(text_data="")
        assert await comm.receive_from() == ""


async def test_send_to_takes_exactly_one_payload() -> None:
    comm = WebsocketCommunicator(echo, "/ws/")
    with pytest.raises(ValueError, match="exactly one of text_data or bytes_data"):
        await comm.send_to()
    with pytest.raises(ValueError, match="exactly one of text_data or bytes_data"):
        await comm.send_to(text_data="a", bytes_data=b"a")
    with pytest.raises(TypeError, match="text_data must be a str; got bytes"):
        await comm.send_to(text_data=b"a")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bytes_data must be bytes; got str"):
        await comm.send_to(bytes_data="a")  # type: ignore[arg-type]


async def test_receive_from_raises_assertion_error_when_the_app_closes_instead() -> None:
    async with WebsocketCommunicator(echo, "/ws/") as comm:
        await comm.connect()
        await comm.send_to(text_data="close")
        with pytest.raises(
            AssertionError, match=r"Expected type 'websocket\.send', but was 'websocket\.close'"
        ):
            await comm.receive_from()


async def test_receive_json_from_raises_assertion_error_on_a_binary_frame() -> None:
    async with WebsocketCommunicator(echo, "/ws/") as comm:
        await comm.connect()
        await comm.send_to(bytes_data=b"{}")
        with pytest.raises(AssertionError, match="JSON data is not a text frame"):
            await comm.receive_json_from()


async def test_receive_from_times_out_with_timeout_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with WebsocketCommunicator(echo, "/ws/") as comm:
        await comm.connect()
        start = trio.current_time()
        with pytest.raises(TimeoutError):
            await comm.receive_from(timeout=3)
        assert trio.current_time() - start == pytest.approx(3)


async def test_receive_nothing_after_the_replies_were_read(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with WebsocketCommunicator(echo, "/ws/") as comm:
        await comm.connect()
        await comm.send_to(text_data="once")
        assert not await comm.receive_nothing()
        assert await comm.receive_from() == "once"
        assert await comm.receive_nothing()


async def test_disconnect_sends_the_code_and_waits_for_the_app() -> None:
    recorder = Recorder()
    comm = WebsocketCommunicator(recorder, "/ws/")
    await comm.connect()
    await comm.disconnect(code=4001)
    assert recorder.finished
    assert not recorder.cancelled
    assert recorder.events[-1] == {"type": "websocket.disconnect", "code": 4001}


async def test_disconnect_times_out_when_the_app_does_not_stop(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def stubborn(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await trio.sleep_forever()

    comm = WebsocketCommunicator(stubborn, "/ws/")
    await comm.connect()
    with pytest.raises(TimeoutError, match="did not finish within 1 s"):
        await comm.disconnect()


async def test_async_with_disconnects_a_connected_socket_on_exit() -> None:
    recorder = Recorder()
    async with WebsocketCommunicator(recorder, "/ws/") as comm:
        await comm.connect()
    assert recorder.events[-1] == {"type": "websocket.disconnect", "code": 1000}
    assert not recorder.cancelled


async def test_async_with_does_not_disconnect_twice() -> None:
    recorder = Recorder()
    async with WebsocketCommunicator(recorder, "/ws/") as comm:
        await comm.connect()
        await comm.disconnect(code=4002)
    assert [e["type"] for e in recorder.events] == ["websocket.connect", "websocket.disconnect"]


async def test_the_nursery_form(nursery: trio.Nursery) -> None:
    comm = WebsocketCommunicator(echo, "/ws/")
    await comm.start(nursery)
    assert await comm.connect() == (True, None)
    await comm.send_to(text_data="hi")
    assert await comm.receive_from() == "hi"
    await comm.aclose()


async def test_the_channels_form_without_async_with() -> None:
    comm = WebsocketCommunicator(echo, "/ws/")
    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to({"a": 1})
    assert await comm.receive_json_from() == {"a": 1}
    await comm.disconnect()


async def test_an_app_crash_surfaces_from_receive_from_not_as_a_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    comm = WebsocketCommunicator(crash_on_boom, "/ws/")
    await comm.connect()
    await comm.send_to(text_data="boom")
    start = trio.current_time()
    with pytest.raises(Boom, match="the application blew up"):
        await comm.receive_from(timeout=60)
    assert trio.current_time() == start


async def test_a_reported_crash_surfaces_then_the_1011_close_is_seen() -> None:
    async with WebsocketCommunicator(report_on_boom, "/ws/") as comm:
        await comm.connect()
        await comm.send_to(text_data="boom")
        with pytest.raises(Boom, match="the handler blew up") as excinfo:
            await comm.receive_from()
        assert excinfo.traceback[-1].name == "report_on_boom"
        assert await comm.receive_output() == {"type": "websocket.close", "code": 1011}


async def test_a_reported_crash_nobody_read_fails_the_async_with_block() -> None:
    async def unread_report() -> None:
        async with WebsocketCommunicator(report_on_boom, "/ws/") as comm:
            await comm.connect()
            await comm.send_to(text_data="boom")

    with pytest.raises(Boom, match="the handler blew up"):
        await unread_report()


@pytest.mark.anyio
async def test_echo_on_both_backends() -> None:
    async with WebsocketCommunicator(echo, "/ws/", subprotocols=["p"]) as comm:
        assert await comm.connect() == (True, "p")
        await comm.send_to(text_data="hi")
        assert await comm.receive_from() == "hi"
        assert await comm.receive_nothing()


@pytest.mark.anyio
async def test_the_channels_form_on_both_backends() -> None:
    comm = WebsocketCommunicator(echo, "/ws/")
    connected, _ = await comm.connect()
    assert connected
    await comm.send_to(bytes_data=b"x")
    assert await comm.receive_from() == b"x"
    await comm.disconnect()
