"""The chat example run as its users run it: migrated, with users, served by a real process.

Every server process is started with ``start_new_session`` and stopped here:
SIGTERM (callboard's graceful shutdown), then SIGKILL after ``STOP_TIMEOUT``.

Not here: clients (``_clients``).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import attrs

__all__ = ["EXAMPLE", "PASSWORD", "USERS", "SiteProcess", "prepare_site", "start_site"]

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLE = REPOSITORY / "examples" / "chat"
"""The example project: ``manage.py`` and ``chatsite.asgi:application`` live here."""
USERS = ("alice", "bob", "carol")
"""The accounts every test site has."""
PASSWORD = "correct-horse-battery"
"""Their password."""

COMMAND_TIMEOUT = 60.0
"""Seconds ``migrate`` and ``demo_users`` get."""
START_TIMEOUT = 20.0
"""Seconds a server gets to listen."""
STOP_TIMEOUT = 10.0
"""Seconds a server gets to exit after SIGTERM before it is killed."""

_LISTENING = re.compile(r"Running on (http://127\.0\.0\.1:\d+)")
_COMMANDS = {
    "runserver": ["manage.py", "runserver", "127.0.0.1:0", "--noreload"],
    "serve": ["-m", "callboard", "serve", "chatsite.asgi:application", "--bind", "127.0.0.1:0"],
}


def prepare_site(directory: Path, **variables: str) -> dict[str, str]:
    """Migrate a fresh SQLite database in ``directory`` and create ``USERS``.

    Args:
        directory: where the database goes.
        variables: more environment variables for the site (``REDIS_URL`` ...).

    Returns:
        The environment to start the site's processes with.

    Raises:
        subprocess.CalledProcessError: a command failed (its output is attached).
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "REDIS_URL", "DJANGO_DEBUG"}
    }
    env.update(CHAT_DATABASE=str(directory / "chat.sqlite3"), PYTHONUNBUFFERED="1", **variables)
    for command in (
        ["manage.py", "migrate", "--noinput", "--verbosity", "0"],
        ["manage.py", "demo_users", *USERS, "--password", PASSWORD],
    ):
        subprocess.run(
            [sys.executable, *command],
            cwd=EXAMPLE,
            env=env,
            check=True,
            capture_output=True,
            timeout=COMMAND_TIMEOUT,
        )
    return env


@attrs.define(eq=False)
class SiteProcess:
    """A server process serving the example, and its log."""

    url: str
    """``http://127.0.0.1:PORT``."""
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:PORT``."""
        return "ws" + self.url.removeprefix("http")

    def output(self) -> str:
        """What the process has written so far (stdout and stderr)."""
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, wait (SIGKILL after ``STOP_TIMEOUT``); return the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.wait()

    def stop_cleanly(self) -> None:
        """Stop it; fail unless it exited with 0 and logged no traceback."""
        status = self.stop()
        output = self.output()
        assert status == 0, f"The site exited with {status}:\n{output}"
        assert "Traceback" not in output, output


def start_site(env: dict[str, str], log: Path, *, command: str = "runserver") -> SiteProcess:
    """Serve the example on a free loopback port; return once it listens.

    Args:
        env: from :func:`prepare_site`.
        log: the file the process writes its output to.
        command: ``"runserver"`` (``manage.py runserver --noreload``) or
            ``"serve"`` (``callboard serve chatsite.asgi:application``).

    Raises:
        RuntimeError: it exited, or did not listen within ``START_TIMEOUT`` (with its output).
    """
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, *_COMMANDS[command]],
            cwd=EXAMPLE,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    site = SiteProcess(url="", process=process, log=log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        found = _LISTENING.search(site.output())
        if found:
            site.url = found.group(1)
            return site
        if process.poll() is not None:
            break
        time.sleep(0.05)
    site.stop()
    raise RuntimeError(f"The chat site ({command}) did not start:\n{site.output()}")
