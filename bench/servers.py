"""The servers under test: how each is started, when it is ready, how it is stopped.

Every server listens on 127.0.0.1 on a free port, is pinned to one core with
``taskset``, inherits a raised open-file limit, logs to a file, and is stopped
with SIGTERM and, after a bound, SIGKILL for its whole process tree.

Not here: what is measured (``loadgen``), the run plan (``run``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psutil

__all__ = [
    "REPO",
    "SERVERS",
    "RunningServer",
    "ServerSpec",
    "free_port",
    "pinned",
    "start_server",
]

REPO = Path(__file__).resolve().parent.parent
"""The repository root: servers run there so ``bench.apps`` imports."""

CALLBOARD_APP = "bench.apps.callboard_app:application"
CHANNELS_APP = "bench.apps.channels_app:application"
RAW_APP = "bench.apps.raw_app:application"
DJANGO_HTTP_APP = "bench.apps.django_http:application"
DJANGO_HTTP_PROBE = "/hello/"

Command = Callable[[int], list[str]]


def _hypercorn_trio(app: str) -> Command:
    return lambda port: [
        sys.executable, "-m", "hypercorn", "--worker-class", "trio",
        "--bind", f"127.0.0.1:{port}", "--backlog", "2048", app,
    ]  # fmt: skip


def _uvicorn(app: str, *, lifespan: str) -> Command:
    return lambda port: [
        sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", "--no-access-log", "--lifespan", lifespan, app,
    ]  # fmt: skip


def _daphne(app: str) -> Command:
    return lambda port: [
        sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "-v", "0", app,
    ]  # fmt: skip


def _callboard_serve(app: str) -> Command:
    return lambda port: [
        sys.executable, "-m", "callboard", "serve", "--bind", f"127.0.0.1:{port}", app,
    ]  # fmt: skip


@dataclass(frozen=True)
class ServerSpec:
    """One server under test.

    Attributes:
        name: the label used in results (``callboard-hypercorn-trio``).
        framework: ``callboard``, ``channels``, ``django`` or ``raw``.
        server: the ASGI server (``hypercorn-trio``, ``uvicorn``, ``daphne``, ...).
        command: the command line for a port.
        env: extra environment.
        redis: whether it runs with a Redis channel layer (two processes share a room).
        needs: a Python module that must be importable for it to run, if any.
        http_probe: a path whose ``GET`` answers 200 once the server is ready;
            ``None`` (WebSocket servers) means a handshake to ``/ws/echo/``.
    """

    name: str
    framework: str
    server: str
    command: Command
    env: Mapping[str, str] = field(default_factory=dict)
    redis: bool = False
    needs: tuple[str, ...] = ()
    http_probe: str | None = None

    def unavailable(self) -> str | None:
        """Why this server cannot run here, or ``None`` when it can."""
        for requirement in self.needs:
            module, _, attribute = requirement.partition(":")
            try:
                imported = __import__(module, fromlist=["_"])
            except ImportError as exc:
                return f"{module} is not importable ({exc})"
            if attribute and not hasattr(imported, attribute):
                return f"{module}.{attribute} does not exist yet"
        return None


SERVERS: dict[str, ServerSpec] = {
    spec.name: spec
    for spec in [
        ServerSpec("callboard-hypercorn-trio", "callboard", "hypercorn-trio",
                   _hypercorn_trio(CALLBOARD_APP)),
        ServerSpec("callboard-serve", "callboard", "callboard-serve",
                   _callboard_serve(CALLBOARD_APP)),
        ServerSpec("callboard-uvicorn", "callboard", "uvicorn",
                   _uvicorn(CALLBOARD_APP, lifespan="on")),
        ServerSpec("channels-uvicorn", "channels", "uvicorn",
                   _uvicorn(CHANNELS_APP, lifespan="off"), needs=("channels",)),
        ServerSpec("channels-daphne", "channels", "daphne", _daphne(CHANNELS_APP),
                   needs=("channels", "daphne")),
        ServerSpec("raw-hypercorn-trio", "raw", "hypercorn-trio", _hypercorn_trio(RAW_APP)),
        ServerSpec("raw-hypercorn-trio-queue", "raw", "hypercorn-trio",
                   _hypercorn_trio(RAW_APP), env={"BENCH_RAW_FANOUT": "queue"}),
        ServerSpec("raw-uvicorn", "raw", "uvicorn", _uvicorn(RAW_APP, lifespan="on")),
        # The Redis layer reads its inbox in a task the server's supervisor owns,
        # so it runs under `callboard serve` (hypercorn's trio worker, run by callboard).
        ServerSpec("callboard-redis-serve", "callboard", "callboard-serve",
                   _callboard_serve(CALLBOARD_APP), redis=True,
                   needs=("callboard.layers:RedisChannelLayer",)),
        ServerSpec("channels-redis-uvicorn", "channels", "uvicorn",
                   _uvicorn(CHANNELS_APP, lifespan="off"), redis=True,
                   needs=("channels", "channels_redis")),
        # Django's views over HTTP (bench/apps/django_http.py), issue #5.
        ServerSpec("callboard-django-hypercorn-trio", "callboard", "hypercorn-trio",
                   _hypercorn_trio(DJANGO_HTTP_APP), env={"BENCH_DJANGO": "callboard"},
                   http_probe=DJANGO_HTTP_PROBE),
        ServerSpec("callboard-django-serve", "callboard", "callboard-serve",
                   _callboard_serve(DJANGO_HTTP_APP), env={"BENCH_DJANGO": "callboard"},
                   http_probe=DJANGO_HTTP_PROBE),
        ServerSpec("django-uvicorn", "django", "uvicorn",
                   _uvicorn(DJANGO_HTTP_APP, lifespan="off"), env={"BENCH_DJANGO": "django"},
                   http_probe=DJANGO_HTTP_PROBE),
    ]
}  # fmt: skip
"""Every server the suite knows, by name."""


def free_port() -> int:
    """Return a port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(command: list[str], core: int | None) -> list[str]:
    if core is None or shutil.which("taskset") is None:
        return command
    return ["taskset", "-c", str(core), *command]


def _raise_child_fd_limit() -> None:  # runs in the child before exec
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = 65536 if hard == resource.RLIM_INFINITY else min(65536, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


@dataclass
class RunningServer:
    """A started server process (the root of its process tree)."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        """The root process id (``taskset`` execs, so it is the server itself)."""
        return self.process.pid

    def busiest_pid(self) -> int:
        """The process in the tree that has used the most CPU (hypercorn's worker)."""
        best, best_cpu = self.pid, -1.0
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(self.pid)
            for proc in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    times = proc.cpu_times()
                    if times.user + times.system > best_cpu:
                        best, best_cpu = proc.pid, times.user + times.system
        return best

    def log_tail(self, lines: int = 15) -> str:
        """The end of the server's log, for error reports."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the server, wait up to ``timeout`` seconds, then SIGKILL its whole tree."""
        try:
            tree = psutil.Process(self.pid).children(recursive=True)
        except psutil.Error:
            tree = []
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        for child in tree:
            with contextlib.suppress(psutil.Error):
                child.wait(timeout=2)
            with contextlib.suppress(psutil.Error):
                child.kill()
        return self.process.returncode


def _probe(port: int, timeout: float, http_path: str | None = None) -> bool:
    """Whether the server answers right now.

    A WebSocket handshake to ``/ws/echo/`` must succeed, or, with
    ``http_path``, a ``GET`` of it must answer 200.
    """
    if http_path is None:
        request = (
            f"GET /ws/echo/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1\r\n\r\n"
        ).encode()
        expected = b"HTTP/1.1 101"
    else:
        request = (
            f"GET {http_path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
        ).encode()
        expected = b"HTTP/1.1 200"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(request)
            answer = sock.recv(64)
    except OSError:
        return False
    return answer.startswith(expected)


def start_server(
    spec: ServerSpec,
    *,
    log_dir: Path,
    label: str,
    core: int | None = 0,
    env: Mapping[str, str] | None = None,
    start_timeout: float = 30.0,
) -> RunningServer:
    """Start ``spec`` on a free port and wait until it answers (see ``_probe``).

    Raises:
        RuntimeError: it exited, or did not answer within ``start_timeout``
            seconds (it is stopped first; the message has its log's tail).
    """
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{label}.log"
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), environment.get("PYTHONPATH", "")) if p
    )
    environment.update(spec.env)
    environment.update(env or {})
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            pinned(spec.command(port), core),
            cwd=REPO,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_raise_child_fd_limit,  # the runner starts no threads
        )
    server = RunningServer(spec.name, port, process, log_path)
    deadline = time.monotonic() + start_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{spec.name} exited with {process.returncode} while starting:\n{server.log_tail()}"
            )
        if _probe(port, 1.0, spec.http_probe):
            return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(
        f"{spec.name} did not answer on port {port} within {start_timeout}s:\n{server.log_tail()}"
    )
