"""Two ``callboard serve`` processes (hypercorn, Trio) share one redis-server.

Clients connect to both; everyone in a room sends; every member receives
every message exactly once, wherever the sender is connected.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from _redis_service import RedisServer, free_port
from trio_websocket import open_websocket_url

ROOT = Path(__file__).resolve().parents[2]
CLIENTS_PER_SERVER = 3
MESSAGES_PER_CLIENT = 5
STARTUP_TIMEOUT = 20.0


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"callboard serve exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"callboard serve on port {port} did not start")


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[int]]:
    """Redis, then two callboard servers on it; yields their ports."""
    redis = RedisServer(tmp_path).start()
    env = {
        **os.environ,
        "CALLBOARD_TEST_REDIS_URL": redis.url,
        "CALLBOARD_TEST_REDIS_PREFIX": "e2e:",
        "PYTHONPATH": str(ROOT),
    }
    ports = [free_port(), free_port()]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "callboard",
                "serve",
                "tests.e2e.redis_chat_app:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--graceful-timeout",
                "2",
            ],
            cwd=ROOT,
            env=env,
        )
        for port in ports
    ]
    try:
        for port, process in zip(ports, processes, strict=True):
            _wait_listening(port, process)
        yield ports
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        codes = []
        for process in processes:
            try:
                codes.append(process.wait(timeout=10))
            except subprocess.TimeoutExpired:
                process.kill()
                codes.append(None)
        redis.kill()
    assert codes == [0, 0], "both servers shut down cleanly on SIGTERM"


async def test_every_member_on_both_servers_gets_every_message_once(servers: list[int]) -> None:
    urls = [f"ws://127.0.0.1:{port}/ws/chat/lobby/" for port in servers]
    total = 2 * CLIENTS_PER_SERVER * MESSAGES_PER_CLIENT
    received: dict[str, list[str]] = {}
    pids: set[int] = set()

    async def client(name: str, url: str, all_joined: trio.Event, joined: list[str]) -> None:
        async with open_websocket_url(url) as ws:
            joined.append(name)
            if len(joined) == 2 * CLIENTS_PER_SERVER:
                all_joined.set()
            await all_joined.wait()
            for n in range(MESSAGES_PER_CLIENT):
                await ws.send_message(json.dumps({"message": f"{name}:{n}"}))
            got = received.setdefault(name, [])
            while len(got) < total:
                data = json.loads(await ws.get_message())
                got.append(data["message"])
                pids.add(data["pid"])
            with trio.move_on_after(0.3):  # a duplicate would arrive now
                got.append(json.loads(await ws.get_message())["message"])

    all_joined = trio.Event()
    joined: list[str] = []
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            for server, url in enumerate(urls):
                for n in range(CLIENTS_PER_SERVER):
                    nursery.start_soon(client, f"s{server}c{n}", url, all_joined, joined)
    expected = sorted(
        f"s{s}c{c}:{n}"
        for s in range(2)
        for c in range(CLIENTS_PER_SERVER)
        for n in range(MESSAGES_PER_CLIENT)
    )
    assert len(received) == 2 * CLIENTS_PER_SERVER
    for name, got in received.items():
        assert sorted(got) == expected, name  # every message, exactly once
    assert len(pids) == 2  # both servers delivered
