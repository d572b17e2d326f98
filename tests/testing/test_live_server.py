"""The live server and the plugin's fixtures: real hypercorn, real clients."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import trio
from trio_websocket import (
    ConnectionClosed,
    WebSocketConnection,
    open_websocket_url,
    wrap_client_stream,
)

from callboard.actors import Runtime, current_runtime
from callboard.testing import LiveServer, open_live_server, start_live_server
from callboard.testing._plugin import LiveServerFactory

from ._apps import echo
from ._hypercorn import collect_failed_bind


@asynccontextmanager
async def websocket_to(
    server: LiveServer, path: str, **options: Any
) -> AsyncIterator[WebSocketConnection]:
    """A trio-websocket client on a TCP stream this helper closes.

    trio-websocket 0.12 leaves its socket open when the server closes the
    connection first, which ``filterwarnings = error`` turns into a failure.
    """
    async with (
        await trio.open_tcp_stream(server.host, server.port) as stream,
        trio.open_nursery() as nursery,
    ):
        ws = await wrap_client_stream(nursery, stream, server.host, path, **options)
        try:
            yield ws
        finally:
            await ws.aclose()


async def test_a_websocket_client_talks_to_the_app_through_the_live_server() -> None:
    async with (
        open_live_server(echo) as server,
        open_websocket_url(f"{server.ws_url}/ws/", subprotocols=["p"]) as ws,
    ):
        assert ws.subprotocol == "p"
        await ws.send_message("hello")
        assert await ws.get_message() == "hello"
        await ws.send_message(b"\x00")
        assert await ws.get_message() == b"\x00"


async def test_an_http_client_gets_a_response_from_the_live_server() -> None:
    async with open_live_server(echo) as server, httpx.AsyncClient() as client:
        response = await client.get(f"{server.url}/hi/?q=1")
    assert response.status_code == 200
    assert response.text == "hello world"
    assert response.headers["x-path"] == "/hi/"
    assert response.headers["x-query"] == "q=1"


async def test_the_server_reports_where_it_listens() -> None:
    async with open_live_server(echo) as server:
        assert server.host == "127.0.0.1"
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.ws_url == f"ws://127.0.0.1:{server.port}"


async def test_websocket_max_message_size_closes_larger_messages_with_1009() -> None:
    async with (
        open_live_server(echo, websocket_max_message_size=1024) as server,
        websocket_to(server, "/ws/") as ws,
    ):
        await ws.send_message("x" * 1000)
        assert await ws.get_message() == "x" * 1000
        await ws.send_message("x" * 2000)
        with pytest.raises(ConnectionClosed) as excinfo:
            await ws.get_message()
    reason = excinfo.value.reason
    assert reason is not None
    assert reason.code == 1009


async def test_shutdown_is_prompt_after_an_http_client_used_it(nursery: trio.Nursery) -> None:
    server = await start_live_server(nursery, echo, graceful_timeout=60)
    async with httpx.AsyncClient() as client:
        await client.get(server.url)
        with trio.fail_after(5):
            await server.aclose()


async def test_shutdown_waits_at_most_graceful_timeout_for_an_open_websocket(
    nursery: trio.Nursery,
) -> None:
    server = await start_live_server(nursery, echo, graceful_timeout=0.1)
    async with websocket_to(server, "/ws/") as ws:
        with trio.fail_after(5):
            await server.aclose()
        with pytest.raises(ConnectionClosed):
            await ws.get_message()
    assert ws.closed is not None
    assert ws.closed.code == 1006


async def test_a_busy_port_raises_oserror_itself_not_in_a_group() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(OSError, match="Address already in use"):
            async with open_live_server(echo, port=busy.getsockname()[1]):
                pass

    collect_failed_bind()


async def test_an_error_in_the_block_propagates_as_itself() -> None:
    with pytest.raises(KeyError, match="raised in the block"):
        async with open_live_server(echo):
            raise KeyError("raised in the block")


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_live_server_refuses_to_run_on_asyncio() -> None:
    with pytest.raises(RuntimeError, match="hypercorn's Trio worker; this test runs on 'asyncio'"):
        async with open_live_server(echo):
            pass


async def test_the_live_server_fixture_serves_apps_until_the_test_ends(
    live_server: LiveServerFactory,
) -> None:
    first = await live_server(echo)
    second = await live_server(echo)
    assert isinstance(first, LiveServer)
    assert first.port != second.port
    async with httpx.AsyncClient() as client:
        for server in (first, second):
            assert (await client.get(server.url)).status_code == 200


async def test_the_callboard_runtime_fixture_is_the_tests_runtime(
    callboard_runtime: Runtime,
) -> None:
    assert callboard_runtime is current_runtime()


def test_the_plugin_is_registered_under_the_pytest11_entry_point(
    pytestconfig: pytest.Config,
) -> None:
    assert pytestconfig.pluginmanager.has_plugin("callboard")


async def test_shutdown_closes_a_consumer_s_websocket_with_1001_and_runs_its_disconnect(
    nursery: trio.Nursery,
) -> None:
    from callboard.consumers import AsyncWebsocketConsumer
    from callboard.routing import ProtocolTypeRouter

    disconnected: list[int] = []

    class Consumer(AsyncWebsocketConsumer):
        async def disconnect(self, code: int) -> None:
            disconnected.append(code)

    app = ProtocolTypeRouter({"websocket": Consumer.as_asgi()})
    server = await start_live_server(nursery, app, graceful_timeout=60)
    async with websocket_to(server, "/ws/") as ws:
        with trio.fail_after(5):
            await server.aclose()
        with pytest.raises(ConnectionClosed):
            await ws.get_message()
    assert ws.closed is not None
    assert ws.closed.code == 1001
    assert len(disconnected) == 1
