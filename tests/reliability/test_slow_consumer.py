"""A client that stops reading while its room is flooded slows nobody else down.

The server runs in a process of its own (``python -m callboard serve``), so
its memory is its own. A room of readers is flooded twice, once without and
once with clients that stop reading: the time for everyone else to receive
everything is measured both times and must stay within a bound. The slow
clients' consumers are handled by their class's overflow policy, every
message they did not get is counted (what they got plus what was counted is
exactly what was sent), no mailbox ever holds more than its capacity, and
the server's RSS stays bounded.

Not here: the policies themselves (``tests/actors/test_mailbox.py``,
``tests/consumers/test_websocket.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trio
from e2e._process import PYTHON, ServerProcess, open_server_process

from ._measure import rss_bytes
from ._rawws import Closed, RawWebSocket, connect_raw_websocket, open_raw_websocket

READERS = 10
MESSAGES = 1500
PAYLOAD = 8 * 1024
"""Bytes per message: an unbounded backlog would hold ``MESSAGES * PAYLOAD`` = 12 MiB."""
CAPACITY = 100
"""The consumers' mailbox capacity (Channels' default)."""
SLOW = 3
STALLED_BUFFER = 16 * 1024
"""The stalled clients' receive buffer, in bytes."""
SLOWDOWN_FACTOR = 2.0
SLOWDOWN_MARGIN = 1.0
"""Everyone else's flood time with slow clients <= FACTOR x without + MARGIN seconds."""
RSS_BOUND = 48 * 1024 * 1024
"""What the server's RSS may grow by over both floods (it carried ~250 MiB)."""
SERVE = [
    *(PYTHON, "-m", "callboard", "serve", "tests.reliability.apps:application"),
    *("--bind", "127.0.0.1:0", "--graceful-timeout", "1"),
]


@pytest.fixture
async def server() -> AsyncIterator[ServerProcess]:
    """A server process of the test's own."""
    async with open_server_process(SERVE) as process:
        yield process


async def _figures(server: ServerProcess) -> dict[str, Any]:
    async with httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0)) as client:
        response = await client.get(f"{server.url}/stats/")
    figures: dict[str, Any] = response.json()
    return figures


async def _reader(port: int, path: str, ready: trio.Semaphore, done: list[float]) -> None:
    async with open_raw_websocket("127.0.0.1", port, path) as ws:
        ready.release()
        for _ in range(MESSAGES):
            await ws.receive_message()
        done.append(trio.current_time())
        await ws.close()


async def _flood(
    port: int, path: str, slow: list[RawWebSocket] | None, slow_path: str
) -> tuple[float, float]:
    """Flood ``path`` from one publisher to ``READERS`` readers (and ``slow`` stalled members).

    Returns:
        Seconds until the publisher had sent everything, and until every
        reader (the publisher included) had received everything.
    """
    done: list[float] = []
    ready = trio.Semaphore(0)
    message = "x" * PAYLOAD
    async with trio.open_nursery() as nursery:
        for _ in range(READERS):
            nursery.start_soon(_reader, port, path, ready, done)
        for _ in range(READERS):
            await ready.acquire()
        if slow is not None:
            for _ in range(SLOW):
                ws = await _open_stalled(port, slow_path)
                slow.append(ws)
        async with open_raw_websocket("127.0.0.1", port, path) as publisher:
            started = trio.current_time()

            async def drain() -> None:
                for _ in range(MESSAGES):
                    await publisher.receive_message()
                done.append(trio.current_time())

            async with trio.open_nursery() as publishing:
                publishing.start_soon(drain)
                for number in range(MESSAGES):
                    await publisher.send_text(f"{number:06d}{message}")
                sent = trio.current_time() - started
            await publisher.close()
    return sent, max(done) - started


async def _open_stalled(port: int, path: str) -> RawWebSocket:
    # A small receive buffer fills at once; the server's writes to it then block.
    return await connect_raw_websocket("127.0.0.1", port, path, receive_buffer=STALLED_BUFFER)


QUIET = 1.0
"""Seconds without a message after which a resumed reader has read the whole backlog."""


async def _read_what_is_left(ws: RawWebSocket) -> tuple[list[int], int | None]:
    """Start reading again: the message numbers that arrive, and the close code if it closes."""
    numbers: list[int] = []
    try:
        while True:
            text: str | bytes | None = None
            with trio.move_on_after(QUIET):
                text = await ws.receive_message()
            if text is None:
                return numbers, None  # quiet: the backlog is read
            assert isinstance(text, str)
            numbers.append(int(text[:6]))
    except Closed as closed:
        return numbers, closed.code


@pytest.mark.parametrize(
    ("prefix", "policy"),
    [("room", "dropped_newest"), ("oldest", "dropped_oldest"), ("strict", "overflowed")],
)
async def test_a_client_that_stops_reading_slows_nobody_and_its_losses_are_counted(
    server: ServerProcess, prefix: str, policy: str
) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    before = await _figures(server)
    rss_before = rss_bytes(server.process.pid)
    slow: list[RawWebSocket] = []
    try:
        with trio.fail_after(120):
            alone = await _flood(port, f"/ws/{prefix}/{policy}-alone/", None, "")
            with_slow = await _flood(
                port, f"/ws/{prefix}/{policy}/", slow, f"/ws/{prefix}/{policy}/"
            )
            rss_flooded = rss_bytes(server.process.pid)
            left = [await _read_what_is_left(ws) for ws in slow]
    finally:
        for ws in slow:
            await trio.aclose_forcefully(ws.stream)
    with trio.fail_after(10):
        while (after := await _figures(server))["actors"]:  # every count is final
            await trio.sleep(0.05)
    counted = after["undelivered"][policy] - before["undelivered"][policy]
    # What a consumer closed for overflowing still had queued is handled after its
    # close and dropped there, counted as sent after the close.
    closed = after["sent_after_close"] - before["sent_after_close"]
    counted += closed
    reasons = [policy, "sent_after_close"] if closed else [policy]
    received = sum(len(numbers) for numbers, _ in left)
    # Nothing lost silently: every message a slow member did not get was counted.
    assert received + counted == SLOW * MESSAGES
    assert counted > 0
    assert after["peak_depth"] <= CAPACITY
    for numbers, code in left:
        assert numbers == sorted(numbers)
        if policy == "overflowed":
            assert code == 1013  # the close waited behind the stalled write, then went out
        else:
            assert code is None  # still connected
        if policy == "dropped_oldest":
            assert numbers[-1] == MESSAGES - 1  # the newest are kept
        if policy == "dropped_newest":
            assert numbers == list(range(len(numbers)))  # the first ones are kept
    grown = rss_flooded - rss_before
    print(
        f"\nslow consumer ({policy}): {READERS} readers of {MESSAGES} x {PAYLOAD // 1024} KiB; "
        f"publisher sent in {alone[0]:.2f} s alone / {with_slow[0]:.2f} s with {SLOW} stalled "
        f"members; everyone else had everything in {alone[1]:.2f} s / {with_slow[1]:.2f} s "
        f"(x{with_slow[1] / alone[1]:.2f}); stalled members got {received}, {counted} counted "
        f"as {' + '.join(reasons)}; peak mailbox depth {after['peak_depth']}; server RSS "
        f"{rss_before / 2**20:.1f} -> {rss_flooded / 2**20:.1f} MiB"
    )
    assert with_slow[1] <= SLOWDOWN_FACTOR * alone[1] + SLOWDOWN_MARGIN
    assert with_slow[0] <= SLOWDOWN_FACTOR * alone[0] + SLOWDOWN_MARGIN
    assert grown < RSS_BOUND
