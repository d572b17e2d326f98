"""Real server commands in subprocesses, serving the chat to real clients.

``hypercorn --worker-class trio`` (the plain hypercorn way) and ``python -m
callboard serve`` (callboard's, with a draining shutdown), one and two
workers. Each process binds ``127.0.0.1:0`` and is stopped by the test.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import httpx
import pytest
import trio
from trio_websocket import WebSocketConnection

from ._clients import close_code, open_websocket
from ._process import HYPERCORN, PYTHON, REPOSITORY, open_server_process
from .chat_app import DISCONNECT_LOG_VARIABLE

APPLICATION = "tests.e2e.chat_app:application"
CALLBOARD_SERVE = [PYTHON, "-m", "callboard", "serve", APPLICATION, "--bind", "127.0.0.1:0"]


async def _chat(sockets: list[WebSocketConnection], text: str) -> None:
    """The first socket says ``text``; everyone in the room hears it."""
    await sockets[0].send_message(json.dumps({"message": text}))
    for ws in sockets:
        assert json.loads(await ws.get_message()) == {"message": text}


async def test_plain_hypercorn_serves_the_chat_but_cancels_websockets_on_sigterm(
    tmp_path: Path,
) -> None:
    disconnects = tmp_path / "disconnects.log"
    env = {DISCONNECT_LOG_VARIABLE: str(disconnects)}
    command = [
        *(HYPERCORN, "--worker-class", "trio", "--bind", "127.0.0.1:0"),
        *("--graceful-timeout", "1", APPLICATION),  # whole seconds only
    ]
    async with open_server_process(command, env=env) as server:
        with trio.fail_after(10):
            async with (
                open_websocket(server.url, "/ws/chat/lobby/") as alice,
                open_websocket(server.url, "/ws/chat/lobby/") as bob,
            ):
                await _chat([alice, bob], "hello from hypercorn")
                server.signal(signal.SIGTERM)
                # Hypercorn sends no close frame; the consumers, cancelled after
                # hypercorn's grace, close with 1001 themselves.
                started = trio.current_time()
                codes = [await close_code(ws) for ws in (alice, bob)]
                waited = trio.current_time() - started
            assert await server.wait() == 0, server.output
    assert codes == [1001, 1001]
    assert waited >= 0.9  # only at the end of hypercorn's graceful timeout
    assert not disconnects.exists()  # the consumers were cancelled, disconnect never ran


async def test_callboard_serve_on_sigterm_closes_websockets_with_1001_and_runs_disconnect(
    tmp_path: Path,
) -> None:
    disconnects = tmp_path / "disconnects.log"
    env = {DISCONNECT_LOG_VARIABLE: str(disconnects)}
    async with open_server_process(CALLBOARD_SERVE, env=env) as server:
        with trio.fail_after(10):
            async with (
                open_websocket(server.url, "/ws/chat/lobby/") as alice,
                open_websocket(server.url, "/ws/chat/lobby/") as bob,
                open_websocket(server.url, "/ws/chat/elsewhere/") as carol,
            ):
                await _chat([alice, bob], "hello from callboard")
                await _chat([carol], "anyone?")
                started = trio.current_time()
                server.signal(signal.SIGTERM)
                codes = [await close_code(ws) for ws in (alice, bob, carol)]
            assert await server.wait() == 0, server.output
            stopped_after = trio.current_time() - started
    assert codes == [1001, 1001, 1001]
    lines = sorted(disconnects.read_text().splitlines())
    pid = server.process.pid
    assert lines == sorted([f"{pid} lobby 1000", f"{pid} lobby 1000", f"{pid} elsewhere 1000"])
    assert stopped_after < 2.0  # nothing waited for the 5 s grace
    assert "Received SIGTERM: shutting down." in server.output
    assert "Traceback" not in server.output


@pytest.mark.parametrize("stop", ["SIGTERM to the parent", "SIGINT to the process group"])
async def test_callboard_serve_with_two_workers_serves_from_both_and_a_signal_stops_all(
    stop: str, tmp_path: Path
) -> None:
    disconnects = tmp_path / "disconnects.log"
    env = {DISCONNECT_LOG_VARIABLE: str(disconnects)}
    command = [*CALLBOARD_SERVE, "--workers", "2"]
    async with open_server_process(command, env=env, listening=2) as server:
        assert server.urls[0] == server.urls[1]  # one socket, shared
        with trio.fail_after(10):
            pids = await _worker_pids(server.url)
            assert server.process.pid not in pids
            async with open_websocket(server.url, "/ws/chat/lobby/") as ws:
                await _chat([ws], "hello from a worker")
                if stop == "SIGTERM to the parent":
                    server.signal(signal.SIGTERM)
                else:  # each worker gets it twice: from the terminal and from the parent
                    server.signal_group(signal.SIGINT)
                assert await close_code(ws) == 1001
            assert await server.wait() == 0, server.output
    assert not any(_alive(pid) for pid in pids)  # the workers are gone, not orphaned
    assert len(disconnects.read_text().splitlines()) == 1
    assert "Traceback" not in server.output


async def test_when_a_worker_dies_the_parent_stops_the_other_and_reports_it() -> None:
    command = [*CALLBOARD_SERVE, "--workers", "2"]
    async with open_server_process(command, listening=2) as server:
        with trio.fail_after(10):
            pids = await _worker_pids(server.url)
            victim, survivor = sorted(pids)
            os.kill(victim, signal.SIGKILL)
            assert await server.wait() == 128 + signal.SIGKILL
    assert not _alive(survivor)
    assert f"worker {victim} exited with status 137; stopping the others." in server.output


async def _worker_pids(url: str) -> set[int]:
    """Ask until both workers have answered; return their pids."""
    pids: set[int] = set()
    limits = httpx.Limits(max_keepalive_connections=0)  # a new connection per request
    async with httpx.AsyncClient(limits=limits) as client:
        while len(pids) < 2:
            async with trio.open_nursery() as nursery:
                for _ in range(20):
                    nursery.start_soon(_health, client, f"{url}/health/", pids)
    return pids


async def _health(client: httpx.AsyncClient, url: str, pids: set[int]) -> None:
    response = await client.get(url)
    assert response.status_code == 200
    pids.add(int(response.headers["x-pid"]))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_callboard_serve_with_a_bad_application_path_exits_2_with_a_clear_message() -> None:
    process = await trio.run_process(
        [PYTHON, "-m", "callboard", "serve", "tests.e2e.no_such_module:application"],
        capture_stderr=True,
        check=False,
        cwd=REPOSITORY,
    )
    assert process.returncode == 2
    assert b"Cannot import module 'tests.e2e.no_such_module'" in process.stderr


async def test_callboard_serve_on_an_address_in_use_exits_1_with_a_clear_message() -> None:
    with trio.socket.socket() as taken:
        await taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        process = await trio.run_process(
            [PYTHON, "-m", "callboard", "serve", APPLICATION, "--bind", address],
            capture_stderr=True,
            check=False,
            cwd=REPOSITORY,
        )
    assert process.returncode == 1
    assert process.stderr.decode().splitlines() == [
        f"callboard: cannot serve on {address}: [Errno 98] Address already in use"
    ]
