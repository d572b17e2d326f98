"""``serve``: hypercorn's Trio worker with a draining shutdown, over real sockets."""

from __future__ import annotations

import os
import signal
from functools import partial
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from django.urls import path
from e2e._clients import close_code, open_websocket, sole_error
from e2e._server import open_server

from callboard.actors import Supervisor, current_runtime
from callboard.consumers import AsyncHttpConsumer, AsyncWebsocketConsumer
from callboard.routing import ProtocolTypeRouter, URLRouter
from callboard.server import DEFAULT_MAX_MESSAGE_SIZE, ServerConfig, run, serve, wait_for_signal


class Recorder(AsyncWebsocketConsumer):
    """Echoes text frames; notes its disconnect in ``log``."""

    log: list[str] | None = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=text_data, bytes_data=bytes_data)

    async def disconnect(self, code: int) -> None:
        assert self.log is not None
        self.log.append("disconnect")


class Stubborn(Recorder):
    """Notes the request to stop, and ignores it."""

    async def on_shutdown(self) -> None:
        assert self.log is not None
        self.log.append("asked to stop")


class RootPath(AsyncHttpConsumer):
    async def handle(self, body: bytes) -> None:
        await self.send_response(200, self.scope["root_path"].encode())


def application(log: list[str]) -> ProtocolTypeRouter:
    async def startup() -> None:
        log.append("startup")

    async def shutdown() -> None:
        log.append("shutdown")

    return ProtocolTypeRouter(
        {
            "http": URLRouter([path("root-path/", RootPath.as_asgi())]),
            "websocket": URLRouter(
                [
                    path("ws/recorder/", Recorder.as_asgi(log=log)),
                    path("ws/stubborn/", Stubborn.as_asgi(log=log)),
                ]
            ),
        },
        on_startup=[startup],
        on_shutdown=[shutdown],
    )


async def test_serve_reports_the_bound_urls_through_nursery_start() -> None:
    async with open_server(application([])) as server:
        scheme, host, port = server.url.split(":")
        assert (scheme, host) == ("http", "//127.0.0.1")
        assert int(port) > 0
        assert server.urls == [server.url]
        async with open_websocket(server.url, "/ws/recorder/") as ws:
            await ws.send_message("hi")
            assert await ws.get_message() == "hi"


async def test_shutdown_closes_open_websockets_with_1001_and_runs_their_disconnect() -> None:
    log: list[str] = []
    async with (
        open_server(application(log), graceful_timeout=5.0) as server,
        open_websocket(server.url, "/ws/recorder/") as first,
        open_websocket(server.url, "/ws/recorder/") as second,
    ):
        for ws in (first, second):  # both handshakes are complete
            await ws.send_message("ready")
            assert await ws.get_message() == "ready"
        started = trio.current_time()
        server.shutdown()
        with trio.fail_after(5):
            assert await close_code(first) == 1001
            assert await close_code(second) == 1001
            await server.wait_stopped()
        elapsed = trio.current_time() - started
    # Everything finished by itself, long before the grace ran out.
    assert elapsed < 1.0
    assert log == ["startup", "disconnect", "disconnect", "shutdown"]


async def test_a_consumer_that_ignores_shutdown_is_cancelled_after_graceful_timeout() -> None:
    log: list[str] = []
    grace = 0.5
    async with (
        open_server(application(log), graceful_timeout=grace, close_timeout=0.5) as server,
        open_websocket(server.url, "/ws/stubborn/") as ws,
    ):
        await ws.send_message("ready")
        assert await ws.get_message() == "ready"
        started = trio.current_time()
        server.shutdown()
        with trio.fail_after(5):
            code = await close_code(ws)
            closed_after = trio.current_time() - started
            await server.wait_stopped()
        stopped_after = trio.current_time() - started
    assert grace <= closed_after < grace + 0.5
    assert stopped_after < grace + 0.5
    # Cancelled, its disconnect never ran; it still said goodbye with 1001.
    assert log == ["startup", "asked to stop", "shutdown"]
    assert code == 1001


async def test_lifespan_startup_runs_before_serve_reports_ready() -> None:
    log: list[str] = []
    async with open_server(application(log)):
        assert log == ["startup"]
    assert log == ["startup", "shutdown"]


async def test_the_root_supervisor_enrolls_connections_while_serving_only() -> None:
    runtime = current_runtime()
    assert runtime.supervisor is None
    async with open_server(application([])) as server:
        supervisor = runtime.supervisor
        assert isinstance(supervisor, Supervisor)
        assert supervisor.name == "callboard.server"
        async with open_websocket(server.url, "/ws/recorder/") as ws:
            await ws.send_message("ready")
            assert await ws.get_message() == "ready"
            assert supervisor.statistics().enrolled == 1
    assert runtime.supervisor is None
    assert supervisor.statistics().enrolled == 0


@pytest.mark.parametrize("first_to_stop", ["older", "newer"])
async def test_two_servers_in_one_loop_may_stop_in_either_order(first_to_stop: str) -> None:
    runtime = current_runtime()
    log: list[str] = []
    async with open_server(application(log)) as older:
        older_root = runtime.supervisor
        async with open_server(application(log)) as newer:
            newer_root = runtime.supervisor
            assert newer_root is not older_root
            stopping, staying = (older, newer) if first_to_stop == "older" else (newer, older)
            stopping.shutdown()
            with trio.fail_after(5):
                await stopping.wait_stopped()
            assert runtime.supervisor is (newer_root if first_to_stop == "older" else older_root)
            # The server still running keeps serving and enrolling connections.
            async with open_websocket(staying.url, "/ws/recorder/") as ws:
                await ws.send_message("ready")
                assert await ws.get_message() == "ready"
                assert runtime.supervisor is not None
                assert runtime.supervisor.statistics().enrolled == 1
    assert runtime.supervisor is None


async def test_the_default_max_message_size_is_one_mib() -> None:
    async with (
        open_server(application([])) as server,
        open_websocket(
            server.url, "/ws/recorder/", max_message_size=2 * DEFAULT_MAX_MESSAGE_SIZE
        ) as ws,
    ):
        await ws.send_message("x" * DEFAULT_MAX_MESSAGE_SIZE)
        assert len(await ws.get_message()) == DEFAULT_MAX_MESSAGE_SIZE
        await ws.send_message("x" * (DEFAULT_MAX_MESSAGE_SIZE + 1))
        with trio.fail_after(5):
            assert await close_code(ws) == 1009


async def test_root_path_reaches_the_scope_and_paths_keep_their_prefix() -> None:
    async with (
        open_server(application([]), root_path="/chat") as server,
        httpx.AsyncClient() as client,
    ):
        mounted = await client.get(f"{server.url}/chat/root-path/")
        outside = await client.get(f"{server.url}/root-path/")
    assert (mounted.status_code, mounted.text) == (200, "/chat")
    assert outside.status_code == 404


async def test_without_a_trigger_sigterm_drains_and_a_second_signal_is_ignored() -> None:
    log: list[str] = []
    config = ServerConfig(bind=("127.0.0.1:0",))
    with sole_error():
        async with trio.open_nursery() as nursery:
            urls = await nursery.start(partial(serve, application(log), config))
            async with open_websocket(urls[0], "/ws/recorder/") as ws:
                await ws.send_message("ready")
                assert await ws.get_message() == "ready"
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGINT)  # would be KeyboardInterrupt if not absorbed
                with trio.fail_after(5):
                    assert await close_code(ws) == 1001
    assert log == ["startup", "disconnect", "shutdown"]


async def test_serve_refuses_several_workers() -> None:
    with pytest.raises(ValueError, match=r"serve\(\) runs one worker, but workers=2"):
        await serve(application([]), ServerConfig(workers=2))


def test_run_refuses_several_workers() -> None:
    with pytest.raises(ValueError, match=r"run\(\) serves one process"):
        run(application([]), ServerConfig(workers=2))


async def test_wait_for_signal_returns_when_the_signal_arrives() -> None:
    async with trio.open_nursery() as nursery:
        done = trio.Event()

        async def waiter(**_: Any) -> None:
            await wait_for_signal(signal.SIGUSR1)
            done.set()

        nursery.start_soon(waiter)
        await trio.testing.wait_all_tasks_blocked()
        os.kill(os.getpid(), signal.SIGUSR1)
        with trio.fail_after(5):
            await done.wait()
