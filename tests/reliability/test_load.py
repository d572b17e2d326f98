"""Load and soak: 10,000 connections at once, 10,000 in a burst, and sustained chat with flat memory.

Sizes come from ``conftest`` (``CALLBOARD_RELIABILITY_CONNECTIONS``,
``CALLBOARD_SOAK_SECONDS``): the defaults run in CI; a long local run raises
them. The burst runs the server in the test's own loop so the test reads
``current_runtime().statistics()`` and counts Trio tasks directly; holding
10,000 connections and the soak run the server in a process of its own
(``python -m callboard serve``), so its descriptors and memory are its own,
read through ``/stats/`` and ``/proc``.

Not here: single bad inputs (``test_bad_input``).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trio
from e2e._clients import wait_until
from e2e._process import PYTHON, ServerProcess, open_server_process
from e2e._server import open_server

from callboard.actors import current_runtime
from callboard.consumers import connection_statistics

from ._measure import live_tasks, open_fds, rss_bytes
from ._rawws import RawWebSocket, connect_raw_websocket, open_raw_websocket
from .apps import application
from .conftest import CONNECTIONS, SOAK_SECONDS

pytestmark = pytest.mark.soak

CONCURRENT_HANDSHAKES = 256
"""Handshakes in flight at once: a reconnect storm, within the server's backlog."""
ROOM_SIZE = 100
SERVE = [
    *(PYTHON, "-m", "callboard", "serve", "tests.reliability.apps:application"),
    *("--bind", "127.0.0.1:0", "--graceful-timeout", "1"),
]
MiB = 1024 * 1024


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _occupancy() -> dict[str, int]:
    stats = current_runtime().statistics()
    connections = connection_statistics()
    return {
        "actors": stats.actors,
        "mailboxes": stats.registry.mailboxes,
        "groups": stats.registry.groups,
        "memberships": stats.registry.memberships,
        "open": connections.websocket_open,
        "crashes": connections.crashes,
    }


async def _open_and_close(port: int, number: int, limiter: trio.CapacityLimiter) -> None:
    async with limiter, open_raw_websocket("127.0.0.1", port, f"/ws/room/b{number % 97}/") as ws:
        await ws.close()


async def test_10000_connections_opening_and_closing_in_a_burst_leave_nothing_behind(
    fd_limit: int,
) -> None:
    async with open_server(application, graceful_timeout=1.0) as server:
        port = _port(server.url)
        limiter = trio.CapacityLimiter(CONCURRENT_HANDSHAKES)
        await _open_and_close(port, 0, limiter)  # warm: the listener's task, first imports
        await wait_until(lambda: _occupancy()["actors"] == 0)
        tasks, fds, rss = live_tasks(), open_fds(), rss_bytes()
        started = trio.current_time()
        with trio.fail_after(max(120.0, CONNECTIONS / 50)):
            async with trio.open_nursery() as nursery:
                for number in range(CONNECTIONS):
                    nursery.start_soon(_open_and_close, port, number, limiter)
            elapsed = trio.current_time() - started
            await wait_until(lambda: _occupancy()["actors"] == 0)
            await wait_until(lambda: live_tasks() == tasks)
        assert _occupancy() == dict.fromkeys(
            ("actors", "mailboxes", "groups", "memberships", "open", "crashes"), 0
        )
        assert connection_statistics().websocket_accepted == CONNECTIONS + 1
        assert open_fds() == fds
        supervisor = current_runtime().supervisor
        assert supervisor is not None
        assert (supervisor.statistics().enrolled, supervisor.statistics().failures) == (0, 0)
        grown = rss_bytes() - rss
    print(
        f"\nburst: {CONNECTIONS} connections opened and closed in {elapsed:.1f} s "
        f"({CONNECTIONS / elapsed:.0f}/s, {CONCURRENT_HANDSHAKES} at a time); tasks and "
        f"fds back to {tasks} and {fds}; RSS +{grown / MiB:.1f} MiB (clients and server "
        "in one process)"
    )


# -- a server process -------------------------------------------------------------------


@pytest.fixture
async def server_process(fd_limit: int) -> AsyncIterator[ServerProcess]:
    """``callboard serve`` on the reliability app, in a process of its own."""
    async with open_server_process(SERVE) as server:
        yield server


async def _figures(client: httpx.AsyncClient, server: ServerProcess) -> dict[str, Any]:
    response = await client.get(f"{server.url}/stats/")
    assert response.status_code == 200
    figures: dict[str, Any] = response.json()
    return figures


async def _connect(
    port: int, room: int, limiter: trio.CapacityLimiter, into: list[tuple[int, RawWebSocket]]
) -> None:
    async with limiter:
        into.append((room, await connect_raw_websocket("127.0.0.1", port, f"/ws/room/h{room}/")))


async def _hear(ws: RawWebSocket, expected: str, heard: list[int]) -> None:
    assert await ws.receive_message() == expected
    heard.append(1)


async def _ask(stats: RawWebSocket) -> dict[str, Any]:
    """The server's figures, through the stats socket the test holds."""
    await stats.send_text("?")
    answer = await stats.receive_message()
    assert isinstance(answer, str)
    figures: dict[str, Any] = json.loads(answer)
    return figures


async def _hold_and_release(
    port: int, stats: RawWebSocket, rooms: int
) -> tuple[dict[str, Any], dict[str, Any], float, float]:
    """Open ``CONNECTIONS`` into ``rooms``, prove each alive, close them all.

    Returns:
        The server's figures while they were held and after they had gone,
        how long opening took, and how long one message per room took to
        reach everyone.
    """
    held: list[tuple[int, RawWebSocket]] = []
    try:
        started = trio.current_time()
        limiter = trio.CapacityLimiter(CONCURRENT_HANDSHAKES)
        async with trio.open_nursery() as nursery:
            for number in range(CONNECTIONS):
                nursery.start_soon(_connect, port, number % rooms, limiter, held)
        opened_in = trio.current_time() - started
        full = await _ask(stats)

        # Every one of them is alive: one message per room reaches every member.
        started = trio.current_time()
        heard: list[int] = []
        async with trio.open_nursery() as nursery:
            for room, ws in held:
                nursery.start_soon(_hear, ws, f"hello room h{room}", heard)
            speakers = {room: ws for room, ws in reversed(held)}
            for room, ws in speakers.items():
                await ws.send_text(f"hello room h{room}")
        delivered_in = trio.current_time() - started
        assert len(heard) == CONNECTIONS
    finally:
        for _, ws in held:
            await trio.aclose_forcefully(ws.stream)
    while (after := await _ask(stats))["tasks"] > full["tasks"] - 3 * CONNECTIONS:
        await trio.sleep(0.1)
    return full, after, opened_in, delivered_in


async def test_one_process_holds_10000_websockets_twice_and_frees_everything_after(
    server_process: ServerProcess,
) -> None:
    port = _port(server_process.url)
    rooms = max(1, CONNECTIONS // ROOM_SIZE)
    client_fds = open_fds()
    # One socket asks for the figures throughout: it counts the same every time
    # (a closed HTTP request would linger until hypercorn's keep-alive timeout).
    async with open_raw_websocket("127.0.0.1", port, "/ws/stats/") as stats:
        before = await _ask(stats)
        with trio.fail_after(2 * max(120.0, CONNECTIONS / 40)):
            full, after, opened_in, delivered_in = await _hold_and_release(port, stats, rooms)
            # Again: the memory the first round took is reused, not added to.
            again, after_again, _, _ = await _hold_and_release(port, stats, rooms)
    for held in (full, again):
        assert held["actors"] == CONNECTIONS
        assert held["websocket_open"] == CONNECTIONS + 1  # and the stats socket
        assert (held["groups"], held["memberships"]) == (rooms, CONNECTIONS)
        assert held["fds"] == before["fds"] + CONNECTIONS
    for gone in (after, after_again):
        assert (gone["actors"], gone["mailboxes"], gone["groups"], gone["memberships"]) == (
            0,
            0,
            0,
            0,
        )
        assert (gone["websocket_open"], gone["crashes"]) == (1, 0)  # the stats socket
        assert (gone["fds"], gone["tasks"]) == (before["fds"], before["tasks"])
    assert open_fds() == client_fds
    # The allocator keeps what it got, with some fragmentation (measured: +10-20 % on
    # the second round, then flat over five): no per-connection growth.
    assert again["rss"] < 1.3 * full["rss"]
    per_connection = (full["rss"] - before["rss"]) / CONNECTIONS
    print(
        f"\nheld: {CONNECTIONS} connections in {rooms} rooms opened in {opened_in:.1f} s; "
        f"server RSS {before['rss'] / MiB:.1f} -> {full['rss'] / MiB:.1f} MiB "
        f"({per_connection / 1024:.1f} KiB per connection), fds {before['fds']} -> "
        f"{full['fds']} -> {after['fds']}, tasks {before['tasks']} -> {full['tasks']} -> "
        f"{after['tasks']}; one message per room reached all {CONNECTIONS} in "
        f"{delivered_in:.2f} s; RSS after closing {after['rss'] / MiB:.1f} MiB, "
        f"with the second {CONNECTIONS} {again['rss'] / MiB:.1f} MiB, after them "
        f"{after_again['rss'] / MiB:.1f} MiB"
    )


# -- soak --------------------------------------------------------------------------------

SOAK_ROOMS = 10
SOAK_ROOM_SIZE = 10
SOAK_INTERVAL = 0.2
"""Seconds between two messages of one chatter: 500 messages in, 5,000 deliveries out a second."""
SAMPLE_INTERVAL = 0.5
CHURN_AT_ONCE = 8
"""Connections that open and close again continuously beside the chatters."""
FLAT = 16 * MiB
"""How much the server's RSS may grow after the warm-up, over the whole soak."""


async def _chatter(
    port: int,
    room: int,
    name: str,
    messages: int,
    heard: dict[str, int],
    ready: trio.Semaphore,
    go: trio.Event,
) -> None:
    async with open_raw_websocket("127.0.0.1", port, f"/ws/room/s{room}/") as ws:
        expected = messages * SOAK_ROOM_SIZE
        ready.release()

        async def listen() -> None:
            for _ in range(expected):
                await ws.receive_message()
                heard[name] += 1

        async with trio.open_nursery() as nursery:
            nursery.start_soon(listen)
            await go.wait()
            for number in range(messages):
                await ws.send_text(f"{name}:{number}")
                await trio.sleep(SOAK_INTERVAL)
        await ws.close()


async def _churn(port: int, stop: trio.Event, count: list[int]) -> None:
    while not stop.is_set():
        async with open_raw_websocket("127.0.0.1", port, f"/ws/room/s{count[0] % SOAK_ROOMS}/"):
            count[0] += 1
        await trio.sleep(0.01)


async def _sample(pid: int, into: list[tuple[float, int]], stop: trio.Event) -> None:
    while not stop.is_set():
        into.append((trio.current_time(), rss_bytes(pid)))
        with trio.move_on_after(SAMPLE_INTERVAL):
            await stop.wait()


async def test_sustained_chat_keeps_server_memory_flat_and_loses_nothing(
    server_process: ServerProcess,
) -> None:
    server = server_process
    port = _port(server.url)
    messages = max(1, round(SOAK_SECONDS / SOAK_INTERVAL))
    names = [f"c{room}-{seat}" for room in range(SOAK_ROOMS) for seat in range(SOAK_ROOM_SIZE)]
    heard = dict.fromkeys(names, 0)
    samples: list[tuple[float, int]] = []
    churned = [0]
    go, stop = trio.Event(), trio.Event()
    with trio.fail_after(SOAK_SECONDS * 3 + 60):
        async with trio.open_nursery() as sampling:
            sampling.start_soon(_sample, server.process.pid, samples, stop)
            async with trio.open_nursery() as nursery:
                ready = trio.Semaphore(0)
                for index, name in enumerate(names):
                    room = index // SOAK_ROOM_SIZE
                    nursery.start_soon(_chatter, port, room, name, messages, heard, ready, go)
                for _ in names:  # everyone is in their room before anyone speaks
                    await ready.acquire()
                started = trio.current_time()
                go.set()
                for _ in range(CHURN_AT_ONCE):
                    nursery.start_soon(_churn, port, stop, churned)
                await wait_until(lambda: min(heard.values()) == messages * SOAK_ROOM_SIZE)
                stop.set()
            ran = trio.current_time() - started
        fresh = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=fresh) as client:
            while (figures := await _figures(client, server))["actors"]:
                await trio.sleep(0.1)
    lost = {reason: n for reason, n in figures["undelivered"].items() if reason != "discarded"}
    assert lost == dict.fromkeys(lost, 0)  # discarded: queued for a churner as it left
    assert figures["crashes"] == 0
    warm = [rss for at, rss in samples if at >= started + ran / 3]
    assert len(warm) >= 2, samples
    grown = warm[-1] - min(warm)
    slope = statistics.linear_regression(
        [at for at, rss in samples if at >= started + ran / 3], warm
    ).slope
    print(
        f"\nsoak: {len(names)} chatters in {SOAK_ROOMS} rooms for {ran:.1f} s, "
        f"{messages * len(names)} messages in, {messages * len(names) * SOAK_ROOM_SIZE} "
        f"deliveries out, {churned[0]} connections churned; server RSS "
        f"{samples[0][1] / MiB:.1f} -> {max(rss for _, rss in samples) / MiB:.1f} (peak) -> "
        f"{samples[-1][1] / MiB:.1f} MiB; after warm-up +{grown / MiB:.2f} MiB, "
        f"slope {slope * 60 / MiB:+.2f} MiB/min"
    )
    assert grown < FLAT, f"server RSS grew {grown / MiB:.1f} MiB after the warm-up"
