"""The load generator: runs one scenario against running servers and prints one JSON object.

``python -m bench.loadgen SCENARIO --port P --server-pid PID [...]`` is what the
runner starts (pinned to the other core); it can be run by hand against any
server that speaks the bench protocol. Scenarios:

- ``echo``: N connections, each with one message in flight (closed loop);
  throughput and round-trip percentiles over a measured window after warm-up.
- ``fanout``: N members in one room; one of them publishes K messages, spaced
  or in a burst; deliveries per second, publish-to-receipt percentiles, and
  lost, duplicated or reordered messages per receiver (sequence numbers).
- ``idle``: N idle connections; the server's RSS per connection, then one echo
  on every connection to prove they are alive.
- ``orm``: the echo loop against ``/ws/orm/``, where each frame costs the
  server one ORM read before its answer.
- ``http``: N keep-alive HTTP/1.1 connections, each with one ``GET --path``
  in flight (closed loop); requests per second, latency percentiles,
  non-200 answers and errors over a measured window after warm-up.

Every WebSocket message is ``"<seq>:<send time ns>"``; all clocks are this process's
``perf_counter_ns``. CPU seconds of the server processes (with their children)
and of this process are measured over the same window with psutil.

Not here: starting servers (``servers``) or choosing scenarios (``run``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import resource
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psutil

from .httpclient import HttpClient, build_request, connect_http
from .wsclient import WebSocketClient, connect

__all__ = ["LoadConfig", "main", "percentiles", "raise_fd_limit"]

perf_ns = time.perf_counter_ns


def raise_fd_limit(wanted: int = 65536) -> int:
    """Raise this process's open-file limit towards ``wanted`` (the hard limit caps it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return max(soft, target)


def percentiles(values_ns: Sequence[int]) -> dict[str, float | None]:
    """Return p50/p90/p99/max/mean of nanosecond values, in milliseconds."""
    if not values_ns:
        return {"p50": None, "p90": None, "p99": None, "max": None, "mean": None}
    ordered = sorted(values_ns)
    n = len(ordered)

    def at(q: float) -> float:
        return ordered[min(n - 1, int(q * n))] / 1e6

    return {
        "p50": at(0.50),
        "p90": at(0.90),
        "p99": at(0.99),
        "max": ordered[-1] / 1e6,
        "mean": sum(ordered) / n / 1e6,
    }


@dataclass
class LoadConfig:
    """What one load-generator run does (see the command line for each field's meaning)."""

    scenario: str
    host: str = "127.0.0.1"
    ports: list[int] = field(default_factory=list)
    server_pids: list[int] = field(default_factory=list)
    connections: int = 1
    duration: float = 3.0
    warmup: float = 1.0
    messages: int = 50
    interval: float = 0.0
    rounds: int = 1
    drain_timeout: float = 60.0
    stall_timeout: float = 10.0
    connect_timeout: float = 10.0
    connect_concurrency: int = 64
    settle: float = 1.0
    stats: bool = True
    server_core: int | None = None
    path: str = "/ws/echo/"


class ProcessMeter:
    """CPU seconds and RSS of a set of processes and their descendants."""

    def __init__(self, pids: Sequence[int]) -> None:
        self._roots = [psutil.Process(pid) for pid in pids]

    def _processes(self) -> list[psutil.Process]:
        found: list[psutil.Process] = []
        for root in self._roots:
            with contextlib.suppress(psutil.Error):
                found.append(root)
                found.extend(root.children(recursive=True))
        return found

    def cpu_seconds(self) -> float:
        """User plus system CPU time, summed over the process trees."""
        total = 0.0
        for process in self._processes():
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    def rss(self) -> int:
        """Resident set size in bytes, summed over the process trees."""
        total = 0
        for process in self._processes():
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        return total


def _core_busy(core: int | None) -> float:
    """CPU seconds core ``core`` has spent on anything but idling (0 when unknown)."""
    if core is None:
        return 0.0
    try:
        times = psutil.cpu_times(percpu=True)[core]
    except IndexError:
        return 0.0
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


class CpuWindow:
    """CPU use of the servers and of this client between :meth:`start` and :meth:`stop`.

    Also measures how busy the server's core was with anything else
    (``other_on_server_core_pct``): other processes sharing that core make a
    run noisy, and this says by how much.
    """

    def __init__(self, servers: ProcessMeter, server_core: int | None = None) -> None:
        self._servers = servers
        self._server_core = server_core
        self._client = psutil.Process()
        self._t0 = self._s0 = self._c0 = self._k0 = 0.0
        self.result: dict[str, float] = {}

    def _client_cpu(self) -> float:
        times = self._client.cpu_times()
        return float(times.user + times.system)

    def start(self) -> None:
        """Open the window."""
        self._t0 = time.perf_counter()
        self._s0 = self._servers.cpu_seconds()
        self._c0 = self._client_cpu()
        self._k0 = _core_busy(self._server_core)

    def stop(self) -> dict[str, float]:
        """Close the window and return CPU seconds and percentages of one core."""
        wall = time.perf_counter() - self._t0
        server = self._servers.cpu_seconds() - self._s0
        client = self._client_cpu() - self._c0
        core = _core_busy(self._server_core) - self._k0

        def pct(seconds: float) -> float:
            return 100.0 * seconds / wall if wall > 0 else 0.0

        self.result = {
            "wall_s": wall,
            "server_cpu_s": server,
            "client_cpu_s": client,
            "server_cpu_pct": pct(server),
            "client_cpu_pct": pct(client),
        }
        if self._server_core is not None:
            self.result["other_on_server_core_pct"] = pct(max(0.0, core - server))
        return self.result


async def open_many(
    config: LoadConfig,
    count: int,
    path_for: Callable[[int], str],
    on_text: Callable[[WebSocketClient, str], None] | None,
) -> tuple[list[WebSocketClient], list[str]]:
    """Open ``count`` connections, at most ``connect_concurrency`` handshakes at a time.

    Connection ``i`` goes to ``ports[i % len(ports)]``. Returns the opened
    clients (in index order, each tagged with its index) and one error text
    per failure.
    """
    gate = asyncio.Semaphore(config.connect_concurrency)
    ports = config.ports

    async def one(index: int) -> WebSocketClient | str:
        async with gate:
            try:
                client = await connect(
                    config.host,
                    ports[index % len(ports)],
                    path_for(index),
                    on_text,
                    time_limit=config.connect_timeout,
                )
            except Exception as exc:  # a refused or failed connection is a result
                return f"{type(exc).__name__}: {exc}"
            client.tag = index
            return client

    results = await asyncio.gather(*(one(i) for i in range(count)))
    clients = [r for r in results if isinstance(r, WebSocketClient)]
    errors = [r for r in results if isinstance(r, str)]
    return clients, errors


async def close_all(clients: Sequence[WebSocketClient], time_limit: float = 5.0) -> None:
    """Close every connection and wait (bounded) until the TCP connections are gone."""
    for client in clients:
        client.close()
    waiting = [c.closed for c in clients if not c.closed.done()]
    if waiting:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(time_limit):
                await asyncio.gather(*waiting)
    for client in clients:
        client.abort()


async def fetch_stats(host: str, port: int, time_limit: float = 5.0) -> dict[str, Any] | None:
    """``GET /bench/stats`` from one server; ``None`` if it does not answer with JSON."""
    try:
        async with asyncio.timeout(time_limit):
            reader, writer = await asyncio.open_connection(host, port)
            request = (
                f"GET /bench/stats HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
            )
            writer.write(request.encode())
            raw = await reader.read()
            writer.close()
    except (OSError, TimeoutError):
        return None
    _, _, body = raw.partition(b"\r\n\r\n")
    try:
        decoded = json.loads(body)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


# -- echo ---------------------------------------------------------------------------------


class _Echo:
    """Closed-loop echo: every reply sends the next message on that connection."""

    def __init__(self) -> None:
        self.recording = False
        self.stopping = False
        self.rtts: list[int] = []
        self.sent = 0
        self.replies = 0
        self.mismatched = 0
        self.outstanding = 0
        self.all_idle: asyncio.Future[None] | None = None
        self.expected: dict[int, str] = {}
        self.sent_at: dict[int, int] = {}
        self.seq = 0

    def send_next(self, client: WebSocketClient) -> None:
        index: int = client.tag
        self.seq += 1
        now = perf_ns()
        text = f"{self.seq}:{now}"
        self.expected[index] = text
        self.sent_at[index] = now
        self.sent += 1
        client.send_text(text)

    def on_text(self, client: WebSocketClient, text: str) -> None:
        now = perf_ns()
        index: int = client.tag
        self.replies += 1
        if text != self.expected.get(index):
            self.mismatched += 1
        if self.recording:
            self.rtts.append(now - self.sent_at[index])
        if self.stopping:
            self.expected.pop(index, None)
            self.outstanding -= 1
            if self.outstanding == 0 and self.all_idle is not None and not self.all_idle.done():
                self.all_idle.set_result(None)
        else:
            self.send_next(client)


async def run_echo(config: LoadConfig, meter: ProcessMeter) -> dict[str, Any]:
    """The echo scenario: throughput and round trips with N connections, one message each."""
    echo = _Echo()
    t_connect = time.perf_counter()
    clients, errors = await open_many(
        config, config.connections, lambda i: config.path, echo.on_text
    )
    connect_s = time.perf_counter() - t_connect
    if not clients:
        raise RuntimeError(f"no connection opened: {errors[:3]}")
    for client in clients:
        echo.send_next(client)
    await asyncio.sleep(config.warmup)
    window = CpuWindow(meter, config.server_core)
    echo.recording = True
    window.start()
    start = perf_ns()
    await asyncio.sleep(config.duration)
    echo.recording = False
    elapsed = (perf_ns() - start) / 1e9
    cpu = window.stop()
    echo.stopping = True
    echo.outstanding = len(echo.expected)
    echo.all_idle = asyncio.get_running_loop().create_future()
    if echo.outstanding:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(config.drain_timeout):
                await echo.all_idle
    lost = len(echo.expected)
    await close_all(clients)
    measured = len(echo.rtts)
    return {
        "connections": len(clients),
        "connect_errors": len(errors),
        "connect_error_sample": errors[:3],
        "connect_s": connect_s,
        "throughput_msgs_s": measured / elapsed if elapsed > 0 else 0.0,
        "round_trips": measured,
        "rtt_ms": percentiles(echo.rtts),
        "sent": echo.sent,
        "replies": echo.replies,
        "mismatched": echo.mismatched,
        "lost": lost,
        "cpu": cpu,
    }


# -- fan-out ------------------------------------------------------------------------------


class _Fanout:
    """Receipt bookkeeping for one room: latency per delivery, sequence per receiver."""

    def __init__(self, members: int) -> None:
        self.latencies: list[int] = []
        self.received = [0] * members
        self.next_seq = [0] * members
        self.out_of_order = 0
        self.duplicates = 0
        self.total = 0
        self.last_receipt = 0
        self.unparsable = 0

    def on_text(self, client: WebSocketClient, text: str) -> None:
        now = perf_ns()
        index: int = client.tag
        seq_text, _, sent_text = text.partition(":")
        try:
            seq = int(seq_text)
            sent = int(sent_text)
        except ValueError:
            self.unparsable += 1
            return
        self.latencies.append(now - sent)
        self.total += 1
        self.last_receipt = now
        expected = self.next_seq[index]
        if seq == expected:
            self.received[index] += 1
            self.next_seq[index] = seq + 1
        elif seq > expected:
            self.out_of_order += 1  # a gap: something before it is missing (or late)
            self.received[index] += 1
            self.next_seq[index] = seq + 1
        else:
            self.duplicates += 1


async def run_fanout(config: LoadConfig, meter: ProcessMeter) -> dict[str, Any]:
    """The fan-out scenario: one publisher, N members (itself included), K messages per round."""
    room = f"bench{uuid.uuid4().hex[:10]}"
    members = config.connections
    fanout = _Fanout(members)
    t_connect = time.perf_counter()
    clients, errors = await open_many(
        config, members, lambda i: f"/ws/group/{room}/", fanout.on_text
    )
    connect_s = time.perf_counter() - t_connect
    if errors or len(clients) != members:
        await close_all(clients)
        raise RuntimeError(f"{len(errors)} of {members} members failed to connect: {errors[:3]}")
    await asyncio.sleep(config.settle)
    publisher = clients[0]
    loop = asyncio.get_running_loop()
    window = CpuWindow(meter, config.server_core)
    window.start()
    seq = 0
    active_ns = 0
    publish_s: list[float] = []
    incomplete_rounds = 0
    for _ in range(config.rounds):
        expected_total = fanout.total + members * config.messages
        first_publish = perf_ns()
        base = loop.time()
        for i in range(config.messages):
            if config.interval > 0:
                delay = base + i * config.interval - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            publisher.send_text(f"{seq}:{perf_ns()}")
            seq += 1
        publish_s.append((perf_ns() - first_publish) / 1e9)
        deadline = loop.time() + config.drain_timeout
        seen, seen_at = fanout.total, loop.time()
        while fanout.total < expected_total:
            await asyncio.sleep(0.02)
            now = loop.time()
            if fanout.total != seen:
                seen, seen_at = fanout.total, now
            if now > deadline or now - seen_at > config.stall_timeout:
                incomplete_rounds += 1
                break
        active_ns += max(fanout.last_receipt, first_publish) - first_publish
    cpu = window.stop()
    server_stats: list[dict[str, Any] | None] = []
    if config.stats:
        for port in config.ports:
            server_stats.append(await fetch_stats(config.host, port))
    await close_all(clients)
    expected = members * config.messages * config.rounds
    delivered = sum(fanout.received)
    undelivered = [s.get("undelivered") for s in server_stats if s and "undelivered" in s]
    return {
        "members": members,
        "messages": config.messages,
        "rounds": config.rounds,
        "interval_s": config.interval,
        "connect_s": connect_s,
        "connect_errors": len(errors),
        "publish_s": max(publish_s) if publish_s else 0.0,
        "active_s": active_ns / 1e9,
        "expected": expected,
        "delivered": delivered,
        "lost": expected - delivered,
        "duplicates": fanout.duplicates,
        "out_of_order": fanout.out_of_order,
        "unparsable": fanout.unparsable,
        "incomplete_rounds": incomplete_rounds,
        "deliveries_per_s": delivered / (active_ns / 1e9) if active_ns else 0.0,
        "latency_ms": percentiles(fanout.latencies),
        "server_stats": server_stats,
        "server_undelivered": sum(undelivered) if undelivered else None,
        "cpu": cpu,
    }


# -- idle ---------------------------------------------------------------------------------


async def _sampled_rss(meter: ProcessMeter, samples: int = 3, gap: float = 0.2) -> int:
    values = []
    for i in range(samples):
        if i:
            await asyncio.sleep(gap)
        values.append(meter.rss())
    return sorted(values)[len(values) // 2]


async def run_idle(config: LoadConfig, meter: ProcessMeter) -> dict[str, Any]:
    """The idle scenario: the server's RSS per open, idle connection; then prove they live."""
    replies: dict[int, str] = {}
    everyone_answered = asyncio.Event()
    expected = [0]

    def on_text(client: WebSocketClient, text: str) -> None:
        replies[client.tag] = text
        if len(replies) >= expected[0] > 0:
            everyone_answered.set()

    warm, _ = await open_many(config, min(20, config.connections), lambda i: "/ws/echo/", on_text)
    for client in warm:
        client.send_text("warm")
    await asyncio.sleep(0.3)
    await close_all(warm)
    replies.clear()
    await asyncio.sleep(config.settle)
    rss_before = await _sampled_rss(meter)
    window = CpuWindow(meter, config.server_core)
    window.start()
    t_connect = time.perf_counter()
    clients, errors = await open_many(config, config.connections, lambda i: "/ws/echo/", on_text)
    connect_s = time.perf_counter() - t_connect
    cpu = window.stop()
    await asyncio.sleep(config.settle)
    rss_after = await _sampled_rss(meter)
    server_stats = (
        [await fetch_stats(config.host, port) for port in config.ports] if config.stats else []
    )
    expected[0] = len(clients)
    for client in clients:
        client.send_text(f"alive:{client.tag}")
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(config.drain_timeout):
            await everyone_answered.wait()
    alive = sum(1 for c in clients if replies.get(c.tag) == f"alive:{c.tag}")
    rss_active = meter.rss()
    client_rss = psutil.Process().memory_info().rss
    await close_all(clients, time_limit=10.0)
    opened = len(clients)
    return {
        "connections": config.connections,
        "opened": opened,
        "connect_errors": len(errors),
        "connect_error_sample": errors[:3],
        "connect_s": connect_s,
        "connects_per_s": opened / connect_s if connect_s > 0 else 0.0,
        "alive": alive,
        "lost": opened - alive,
        "server_rss_before": rss_before,
        "server_rss_after": rss_after,
        "server_rss_active": rss_active,
        "rss_per_conn_kib": (rss_after - rss_before) / opened / 1024 if opened else None,
        "client_rss": client_rss,
        "server_stats": server_stats,
        "cpu": cpu,
    }


# -- HTTP ---------------------------------------------------------------------------------


class _HttpLoop:
    """Closed-loop HTTP: every response sends the next request on its connection.

    A response that says the server will close (hypercorn closes a keep-alive
    connection after 1,000 requests) retires its connection: a new one takes
    its slot and sends the next request, as a browser would. A connection
    lost with a request in flight is an error, and is replaced too.
    """

    def __init__(self, config: LoadConfig) -> None:
        self.config = config
        self.requests = {
            port: build_request(config.host, port, config.path) for port in config.ports
        }
        self.recording = False
        self.stopping = False
        self.latencies: list[int] = []
        self.statuses: collections.Counter[int] = collections.Counter()
        self.sent = 0
        self.responses = 0
        self.non_200 = 0
        self.body_bytes = 0
        self.reconnects = 0
        self.errors: list[str] = []
        self.clients: dict[int, HttpClient] = {}
        self.reopening: set[asyncio.Task[None]] = set()
        self.idle = asyncio.Event()

    def port_for(self, slot: int) -> int:
        ports = self.config.ports
        return ports[slot % len(ports)]

    def send_next(self, client: HttpClient) -> None:
        if client.send(self.requests[self.port_for(client.tag)], perf_ns()):
            self.sent += 1

    def on_response(self, client: HttpClient, status: int, size: int, closes: bool) -> None:
        now = perf_ns()
        self.responses += 1
        self.body_bytes += size
        if status != 200:
            self.non_200 += 1
        if self.recording:
            self.latencies.append(now - client.sent_at)
            self.statuses[status] += 1
        if closes:
            self.reconnects += 1
            self.replace(client)
        elif not self.stopping:
            self.send_next(client)
        else:
            self.check_idle()

    def on_lost(self, client: HttpClient, in_flight: bool) -> None:
        if client.retired:  # closed by this side: at the end, or after a closing response
            return
        if in_flight:
            self.errors.append(client.error or "connection lost with a request in flight")
        self.replace(client)
        self.check_idle()

    def replace(self, client: HttpClient) -> None:
        """Retire ``client`` and, unless stopping, open a new connection in its slot."""
        client.retired = True
        client.close()
        if self.clients.get(client.tag) is client:
            del self.clients[client.tag]
        if self.stopping:
            return
        task = asyncio.get_running_loop().create_task(self._reopen(client.tag))
        self.reopening.add(task)
        task.add_done_callback(self._reopened)

    def _reopened(self, task: asyncio.Task[None]) -> None:
        self.reopening.discard(task)
        self.check_idle()

    async def open(self, slot: int) -> HttpClient:
        client = await connect_http(
            self.config.host,
            self.port_for(slot),
            self.on_response,
            self.on_lost,
            time_limit=self.config.connect_timeout,
        )
        client.tag = slot
        self.clients[slot] = client
        return client

    async def _reopen(self, slot: int) -> None:
        try:
            client = await self.open(slot)
        except Exception as exc:  # the slot stays empty; the error is a result
            self.errors.append(f"reconnect: {type(exc).__name__}: {exc}")
            return
        if self.stopping:
            client.retired = True
            client.close()
        else:
            self.send_next(client)

    def in_flight(self) -> int:
        return sum(1 for client in self.clients.values() if client.in_flight)

    def stop(self) -> None:
        """Send no more requests; :attr:`idle` is set once every answer is in."""
        self.stopping = True
        self.check_idle()

    def check_idle(self) -> None:
        if self.stopping and not self.reopening and not self.in_flight():
            self.idle.set()


async def run_http(config: LoadConfig, meter: ProcessMeter) -> dict[str, Any]:
    """The HTTP scenario: requests per second and latency with N keep-alive connections."""
    http = _HttpLoop(config)
    gate = asyncio.Semaphore(config.connect_concurrency)

    async def first(slot: int) -> str | None:
        async with gate:
            try:
                await http.open(slot)
            except Exception as exc:  # a refused connection is a result
                return f"{type(exc).__name__}: {exc}"
        return None

    t_connect = time.perf_counter()
    failures = [e for e in await asyncio.gather(*map(first, range(config.connections))) if e]
    connect_s = time.perf_counter() - t_connect
    if not http.clients:
        raise RuntimeError(f"no connection opened: {failures[:3]}")
    for client in list(http.clients.values()):
        http.send_next(client)
    await asyncio.sleep(config.warmup)
    window = CpuWindow(meter, config.server_core)
    http.recording = True
    window.start()
    start = perf_ns()
    await asyncio.sleep(config.duration)
    http.recording = False
    elapsed = (perf_ns() - start) / 1e9
    cpu = window.stop()
    http.stop()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(config.drain_timeout):
            await http.idle.wait()
    lost = http.in_flight()
    open_at_end = len(http.clients)
    for client in list(http.clients.values()):
        client.retired = True
        client.close()
    waiting = [c.closed for c in http.clients.values() if not c.closed.done()]
    if waiting:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5.0):
                await asyncio.gather(*waiting)
    measured = len(http.latencies)
    return {
        "connections": config.connections,
        "opened": config.connections - len(failures),
        "open_at_end": open_at_end,
        "connect_errors": len(failures),
        "connect_error_sample": failures[:3],
        "connect_s": connect_s,
        "path": config.path,
        "throughput_rps": measured / elapsed if elapsed > 0 else 0.0,
        "requests": measured,
        "latency_ms": percentiles(http.latencies),
        "statuses": {str(status): n for status, n in sorted(http.statuses.items())},
        "sent": http.sent,
        "responses": http.responses,
        "non_200": http.non_200,
        "mean_body_bytes": http.body_bytes / http.responses if http.responses else None,
        "reconnects": http.reconnects,
        "errors": len(http.errors),
        "error_sample": http.errors[:3],
        "lost": lost,
        "cpu": cpu,
    }


SCENARIOS = {
    "echo": run_echo,
    "fanout": run_fanout,
    "idle": run_idle,
    "orm": run_echo,
    "http": run_http,
}
"""Each scenario kind's coroutine; ``orm`` is echo against ``--path /ws/orm/``."""


async def run(config: LoadConfig) -> dict[str, Any]:
    """Run the configured scenario and return its measurements."""
    meter = ProcessMeter(config.server_pids)
    started = time.time()
    result = await SCENARIOS[config.scenario](config, meter)
    result["loadgen_s"] = time.time() - started
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port",
        type=int,
        action="append",
        required=True,
        dest="ports",
        help="server port; repeat for servers sharing a room (fan-out)",
    )
    parser.add_argument(
        "--server-pid",
        type=int,
        action="append",
        default=[],
        dest="server_pids",
        help="server process to meter; repeatable",
    )
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument(
        "--duration", type=float, default=3.0, help="echo and http: measured seconds"
    )
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="echo and http: unmeasured seconds"
    )
    parser.add_argument("--messages", type=int, default=50, help="fan-out: messages per round")
    parser.add_argument(
        "--interval", type=float, default=0.0, help="fan-out: seconds between messages (0: a burst)"
    )
    parser.add_argument("--rounds", type=int, default=1, help="fan-out: rounds on one room")
    parser.add_argument("--drain-timeout", type=float, default=60.0)
    parser.add_argument("--stall-timeout", type=float, default=10.0)
    parser.add_argument("--connect-timeout", type=float, default=10.0)
    parser.add_argument("--connect-concurrency", type=int, default=64)
    parser.add_argument("--settle", type=float, default=1.0)
    parser.add_argument("--no-stats", action="store_false", dest="stats")
    parser.add_argument(
        "--server-core", type=int, default=None, help="the core the servers are pinned to"
    )
    parser.add_argument(
        "--path", default="/ws/echo/", help="echo, orm and http: the endpoint (http: a GET)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the scenario on uvloop (asyncio if absent), print one JSON line."""
    args = _parser().parse_args(argv)
    config = LoadConfig(**vars(args))
    raise_fd_limit()
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(run(config))
        loop_name = "asyncio"
    else:
        result = uvloop.run(run(config))
        loop_name = "uvloop"
    result["client_loop"] = loop_name
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
