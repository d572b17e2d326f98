"""``manage.py runserver`` and ``manage.py runworker``, run as the user runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

TESTS = Path(__file__).resolve().parent.parent
MANAGE = TESTS / "django_project" / "manage.py"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def command_env(project_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CALLBOARD_TEST_POSTGRES"}
    env.update(
        PYTHONPATH=os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")]),
        DJANGO_SETTINGS_MODULE="django_project.settings",
        CALLBOARD_TEST_SQLITE=os.path.join(project_dir, "commands.sqlite3"),
        CALLBOARD_TEST_DEBUG="1",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def start(command_env: dict[str, str]) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _spawn(
    started: list[subprocess.Popen[str]], env: dict[str, str], *args: str
) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, str(MANAGE), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    started.append(process)
    return process


async def _read_until(process: subprocess.Popen[str], marker: str) -> str:
    assert process.stdout is not None
    seen: list[str] = []
    with anyio.fail_after(20):
        while True:
            line = await anyio.to_thread.run_sync(process.stdout.readline)
            if not line:
                raise AssertionError("the command ended early:\n" + "".join(seen))
            seen.append(line)
            if marker in line:
                return "".join(seen)


async def _wait(process: subprocess.Popen[str]) -> int:
    with anyio.fail_after(15):
        return await anyio.to_thread.run_sync(process.wait)


@pytest.mark.parametrize("reload", [False, True], ids=["noreload", "autoreload"])
async def test_runserver_serves_views_static_files_and_websockets(
    start: list[subprocess.Popen[str]], command_env: dict[str, str], reload: bool
) -> None:
    port = _free_port()
    args = ["runserver", f"127.0.0.1:{port}"] + ([] if reload else ["--noreload"])
    process = _spawn(start, command_env, *args)

    banner = await _read_until(process, "Quit the server with")

    assert f"Starting development server at http://127.0.0.1:{port}/" in banner
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        assert (await client.get("/plain/")).text == "plain"
        assert (await client.get("/static/hello.txt")).text == "hello static\n"
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        await stream.send(
            b"GET /ws/whoami/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1\r\n\r\n"
        )
        assert (await stream.receive()).startswith(b"HTTP/1.1 101")
    os.killpg(process.pid, signal.SIGINT)
    assert await _wait(process) == 0


async def test_runworker_runs_until_sigterm(
    start: list[subprocess.Popen[str]], command_env: dict[str, str]
) -> None:
    process = _spawn(start, command_env, "runworker", "tasks")

    await _read_until(process, "Running worker for channels ['tasks']")
    process.send_signal(signal.SIGTERM)

    assert await _wait(process) == 0


async def test_runworker_refuses_an_unknown_layer(
    start: list[subprocess.Popen[str]], command_env: dict[str, str]
) -> None:
    process = _spawn(start, command_env, "runworker", "--layer", "nope", "tasks")

    assert await _wait(process) == 1
    assert process.stdout is not None
    assert "No channel layer 'nope' is configured" in process.stdout.read()
