"""Server processes for end-to-end tests: start a command, learn its port, stop it.

The command binds port 0; its address is read from the line hypercorn logs
once it listens (``Running on http://127.0.0.1:PORT``). Every process
started here is stopped here, within a deadline: SIGTERM, then SIGKILL.

Not here: clients (``_clients``).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import attrs
import trio

__all__ = ["HYPERCORN", "PYTHON", "REPOSITORY", "ServerProcess", "open_server_process"]

REPOSITORY = Path(__file__).resolve().parents[2]
"""The checkout: the processes run here, so ``tests.e2e.chat_app`` imports."""
PYTHON = sys.executable
"""The test run's interpreter (the project's virtual environment)."""
HYPERCORN = str(Path(sys.executable).with_name("hypercorn"))
"""The hypercorn script installed next to it."""

START_TIMEOUT = 20.0
"""Seconds a server process gets to import the application and listen."""
STOP_TIMEOUT = 10.0
"""Seconds a server process gets to exit after SIGTERM before it is killed."""

_LISTENING = re.compile(r"Running on (http://\S+)")


@attrs.define(eq=False)
class ServerProcess:
    """A running server process and what it has written to stderr so far."""

    process: trio.Process
    _output: list[str] = attrs.field(factory=list)
    _urls: list[str] = attrs.field(factory=list)
    _changed: trio.Event = attrs.field(factory=trio.Event)
    _eof: bool = False

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: where the server listens."""
        return self._urls[0]

    @property
    def urls(self) -> list[str]:
        """Every ``Running on`` address logged so far (one per worker)."""
        return list(self._urls)

    @property
    def output(self) -> str:
        """Everything the process wrote to stderr so far."""
        return "".join(self._output)

    def signal_group(self, signum: int = signal.SIGINT) -> None:
        """Send ``signum`` to every process of its group (a terminal's Ctrl-C)."""
        os.killpg(self.process.pid, signum)

    def signal(self, signum: int = signal.SIGTERM) -> None:
        """Send ``signum`` to the process."""
        self.process.send_signal(signum)

    async def wait(self) -> int:
        """Wait for the process to exit and its output to end; return its return code.

        Bound it with ``trio.fail_after``.
        """
        code = await self.process.wait()
        while not self._eof:
            await self._changed.wait()
        return code

    async def _read_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        pending = b""
        async for chunk in stream:
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                text = line.decode(errors="replace") + "\n"
                self._output.append(text)
                found = _LISTENING.search(text)
                if found:
                    self._urls.append(found.group(1))
            self._notify()
        self._output.append(pending.decode(errors="replace"))
        self._eof = True
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def _wait_listening(self, count: int) -> None:
        while len(self._urls) < count:
            if self._eof:
                raise AssertionError(f"The server exited before listening:\n{self.output}")
            await self._changed.wait()


def _environment(extra: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = f"{REPOSITORY}{os.pathsep}{path}" if path else str(REPOSITORY)
    env.update(extra)
    return env


@asynccontextmanager
async def open_server_process(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    listening: int = 1,
) -> AsyncIterator[ServerProcess]:
    """Run ``command`` in the checkout until the block ends; yield once it listens.

    Args:
        command: the server command; it must bind ``127.0.0.1:0``.
        env: variables to add to the test's environment (``PYTHONPATH``
            already names the checkout).
        listening: how many ``Running on`` lines to wait for (one per worker).

    Raises:
        AssertionError: the process exited before listening (with its output).
        trio.TooSlowError: it did not listen within ``START_TIMEOUT``.

    The process leads a process group of its own (its pid is the group's
    id), as a shell's foreground job does, so ``signal_group`` reaches it
    and its workers as a terminal's Ctrl-C would.

    Lifetime: on exit a process still running gets SIGTERM, then SIGKILL
    after ``STOP_TIMEOUT``; the exit waits for it either way.
    """
    process = await trio.lowlevel.open_process(
        list(command),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=REPOSITORY,
        env=_environment(env or {}),
        start_new_session=True,
    )
    server = ServerProcess(process)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(server._read_stderr)
            with trio.fail_after(START_TIMEOUT):
                await server._wait_listening(listening)
            yield server
            nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            await _stop(process)


async def _stop(process: trio.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        with trio.move_on_after(STOP_TIMEOUT):
            await process.wait()
    if process.returncode is None:
        process.kill()
        await process.wait()
    if process.stderr is not None:
        await process.stderr.aclose()
