"""A real ``redis-server`` for tests: started on a free loopback port in its own directory.

Used by the Redis layer tests (``tests/layers``) and the multi-process
end-to-end test. When the binary is missing the tests are skipped with a
reason, unless ``CALLBOARD_REQUIRE_SERVICES`` is set (CI sets it): then they fail.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

STARTUP_TIMEOUT = 10.0
"""Seconds a fresh redis-server gets to accept connections."""


def require_redis_server() -> str:
    """Return the redis-server binary, or skip (fail under CALLBOARD_REQUIRE_SERVICES)."""
    binary = shutil.which("redis-server")
    if binary is None:
        reason = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CALLBOARD_REQUIRE_SERVICES"):
            pytest.fail(f"{reason}, and CALLBOARD_REQUIRE_SERVICES is set")
        pytest.skip(reason)
    return binary


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """One redis-server process: no persistence, its own directory, loopback only.

    Args:
        directory: where it runs (``--dir``).
        password: ``--requirepass`` when given.
        options: more command-line options (``["--maxmemory", "2mb"]``).
    """

    def __init__(
        self, directory: Path, *, password: str | None = None, options: Sequence[str] = ()
    ) -> None:
        self.binary = require_redis_server()
        self.directory = directory
        self.password = password
        self.options = list(options)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start it and wait until it accepts connections."""
        command = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
            "--logfile",
            str(self.directory / f"redis-{self.port}.log"),
        ]
        if self.password:
            command += ["--requirepass", self.password]
        command += self.options
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def kill(self) -> None:
        """Kill it (SIGKILL) and wait until it is gone."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGCONT)
                self.process.kill()
            self.process.wait()
            self.process = None

    def pause(self) -> None:
        """Stall it (SIGSTOP): connections stay open and nothing answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server run again (SIGCONT)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)
