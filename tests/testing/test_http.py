"""HttpCommunicator: one request, the whole response."""

from __future__ import annotations

import pytest
import trio.testing

from callboard._asgi import Receive, Scope, Send
from callboard.testing import HttpCommunicator

from ._apps import Boom, Recorder, echo, silent


async def test_get_returns_status_headers_and_the_whole_streamed_body() -> None:
    async with HttpCommunicator(echo, "get", "/hello/?name=ada") as comm:
        response = await comm.get_response()
    assert response == {
        "status": 200,
        "headers": [
            (b"content-type", b"text/plain"),
            (b"x-method", b"GET"),
            (b"x-path", b"/hello/"),
            (b"x-query", b"name=ada"),
        ],
        "body": b"hello world",
    }


async def test_post_sends_the_body() -> None:
    comm = HttpCommunicator(echo, "POST", "/echo/", body=b"from the test")
    response = await comm.get_response()
    assert response["body"] == b"hello from the test"
    await comm.wait()


async def test_the_scope_has_channels_keys_and_the_server_extras() -> None:
    recorder = Recorder()
    async with HttpCommunicator(recorder, "put", "/a%20b?x=1", headers=[("host", "h")]) as comm:
        await comm.send_input({"type": "http.disconnect"})
        await comm.wait()
    scope = dict(recorder.scope or {})
    del scope["extensions"]
    assert scope == {
        "type": "http",
        "http_version": "1.1",
        "method": "PUT",
        "path": "/a b",
        "raw_path": b"/a%20b",
        "query_string": b"x=1",
        "headers": [(b"host", b"h")],
        "client": ("127.0.0.1", 0),
        "server": ("testserver", 80),
    }


async def test_a_body_that_is_not_bytes_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="body must be bytes; got str"):
        HttpCommunicator(echo, "POST", "/", body="text")  # type: ignore[arg-type]


async def test_headers_default_to_an_empty_list() -> None:
    async def bare(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 204})
        await send({"type": "http.response.body"})

    response = await HttpCommunicator(bare, "GET", "/").get_response()
    assert response == {"status": 204, "headers": [], "body": b""}


async def test_a_body_before_the_start_is_an_assertion_error() -> None:
    async def backwards(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "http.response.body", "body": b"x"})

    with pytest.raises(AssertionError, match=r"Expected type 'http\.response\.start'"):
        await HttpCommunicator(backwards, "GET", "/").get_response()


async def test_get_response_times_out_with_timeout_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with pytest.raises(TimeoutError):
        await HttpCommunicator(silent, "GET", "/").get_response(timeout=5)


async def test_a_view_that_raises_surfaces_its_error() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        raise Boom("view failed")

    with pytest.raises(Boom, match="view failed"):
        await HttpCommunicator(broken, "GET", "/").get_response()


@pytest.mark.anyio
async def test_get_on_both_backends() -> None:
    async with HttpCommunicator(echo, "GET", "/") as comm:
        response = await comm.get_response()
    assert response["status"] == 200
    assert response["body"] == b"hello world"
