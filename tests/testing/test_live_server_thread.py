"""LiveServerThread: the live server on a Trio loop of its own, for synchronous tests and clients.

These tests are synchronous, as the code that uses the thread is; a
WebSocket client runs in ``trio.run`` on the test's thread while the server
runs on its own.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
import trio
from e2e._clients import close_code, open_websocket

from callboard._asgi import Receive, Scope, Send
from callboard.actors import current_home
from callboard.consumers import AsyncWebsocketConsumer
from callboard.routing import ProtocolTypeRouter
from callboard.testing import LiveServerThread

from ._apps import echo
from ._hypercorn import collect_failed_bind

CLIENT_TIMEOUT = 10.0
"""Seconds a client exchange may take."""
SHARED_WORKERS = "Trio thread "
"""Trio's process-wide worker threads (``trio.to_thread``): they end after idling."""


def started_since(before: set[threading.Thread]) -> set[threading.Thread]:
    started = set(threading.enumerate()) - before
    return {thread for thread in started if not thread.name.startswith(SHARED_WORKERS)}


@pytest.fixture
def threads() -> Iterator[set[threading.Thread]]:
    """The threads alive before the test; afterwards, none of its own may be left."""
    before = set(threading.enumerate())
    yield before
    assert started_since(before) == set()


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT):
            return True
    except ConnectionRefusedError:
        return False


async def stuck_in_startup(scope: Scope, receive: Receive, send: Send) -> None:
    """Lifespan: takes the startup event and never answers it."""
    assert scope["type"] == "lifespan"
    await receive()
    await trio.sleep_forever()


def test_clients_in_the_calling_thread_reach_the_app_over_http_and_websocket(
    threads: set[threading.Thread],
) -> None:
    async def echo_over_websocket(url: str) -> object:
        with trio.fail_after(CLIENT_TIMEOUT):
            async with open_websocket(url, "/ws/") as ws:
                await ws.send_message("hello")
                return await ws.get_message()

    with LiveServerThread(echo) as server:
        response = httpx.get(f"{server.url}/hi/?q=1")
        echoed = trio.run(echo_over_websocket, server.url)

    assert response.text == "hello world"
    assert response.headers["x-query"] == "q=1"
    assert echoed == "hello"


def test_it_reports_where_it_listens_under_the_host_it_was_given(
    threads: set[threading.Thread],
) -> None:
    with LiveServerThread(echo, host="localhost") as server:
        assert server.running
        assert server.port > 0
        assert server.url == f"http://localhost:{server.port}"
        assert server.ws_url == f"ws://localhost:{server.port}"
        assert listening(server.port)
        assert len(started_since(threads)) == 1


def test_stop_ends_the_thread_frees_the_port_and_is_idempotent(
    threads: set[threading.Thread],
) -> None:
    server = LiveServerThread(echo)
    server.start()
    port = server.port

    server.stop()
    server.stop()

    assert not server.running
    assert not listening(port)


def test_its_loop_is_the_primary_home_while_it_runs_and_no_longer_after(
    threads: set[threading.Thread],
) -> None:
    before = current_home()

    with LiveServerThread(echo):
        home = current_home()
        assert home is not None
        assert home is not before
        assert home.thread_id != threading.get_ident()

    assert current_home() is before


def test_stop_closes_a_consumer_s_websocket_with_1001_and_runs_its_disconnect(
    threads: set[threading.Thread],
) -> None:
    disconnected: list[int] = []

    class Consumer(AsyncWebsocketConsumer):
        async def disconnect(self, code: int) -> None:
            disconnected.append(code)

    server = LiveServerThread(ProtocolTypeRouter({"websocket": Consumer.as_asgi()}))

    async def connect_then_stop() -> int | None:
        with trio.fail_after(CLIENT_TIMEOUT):
            async with open_websocket(server.url, "/ws/") as ws:
                await trio.to_thread.run_sync(server.stop)
                return await close_code(ws)

    server.start()
    try:
        code = trio.run(connect_then_stop)
    finally:
        server.stop()

    assert code == 1001
    assert len(disconnected) == 1


def test_a_shutdown_longer_than_stop_timeout_is_cancelled_and_raises(
    threads: set[threading.Thread],
) -> None:
    server = LiveServerThread(echo, graceful_timeout=60, stop_timeout=0.2)

    async def stop_while_connected() -> None:
        with trio.fail_after(CLIENT_TIMEOUT):
            async with open_websocket(server.url, "/ws/"):
                with pytest.raises(TimeoutError, match=r"did not stop within 0\.2 s"):
                    await trio.to_thread.run_sync(server.stop)

    server.start()
    try:
        trio.run(stop_while_connected)
    finally:
        server.stop()

    assert not server.running


def test_a_busy_port_raises_oserror_and_leaves_no_thread(
    threads: set[threading.Thread],
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = LiveServerThread(echo, port=busy.getsockname()[1])

        with pytest.raises(OSError, match="Address already in use"):
            server.start()

    collect_failed_bind()
    assert not server.running


def test_a_startup_longer_than_start_timeout_raises_and_leaves_no_thread(
    threads: set[threading.Thread],
) -> None:
    server = LiveServerThread(stuck_in_startup, start_timeout=0.2)

    with pytest.raises(TimeoutError, match=r"did not listen within 0\.2 s \(start_timeout\)"):
        server.start()

    assert not server.running


def test_its_address_is_known_once_started_and_it_starts_once() -> None:
    server = LiveServerThread(echo)
    with pytest.raises(RuntimeError, match=r"not running: call start\(\) first"):
        server.url  # noqa: B018

    with server, pytest.raises(RuntimeError, match="already running"):
        server.start()
