"""A throwaway PostgreSQL cluster for the tests: ``initdb`` into a temporary directory, a free port.

Never touches the machine's own PostgreSQL: the cluster has its own data
directory, socket directory and loopback port, and is stopped and deleted at
teardown. ``initdb`` refuses to run as root, so as root the cluster runs as
the ``postgres`` user (or ``nobody``) through ``setpriv``. A test run that was
killed cannot stop its cluster; the next run stops and deletes clusters whose
owning process is gone (each records its owner's pid).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

REQUIRE_SERVICES = "CALLBOARD_REQUIRE_SERVICES"


@dataclass
class Cluster:
    """A running cluster: where to reach it, and how to stop it."""

    host: str
    port: int
    workdir: str
    _pg_ctl: list[str]

    def stop(self) -> None:
        subprocess.run(
            [*self._pg_ctl, "-D", os.path.join(self.workdir, "data"), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.workdir, ignore_errors=True)


_PREFIX = "callboard-pg-"
_OWNER = "owner.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_orphans(bindir: str) -> None:
    """Stop and delete clusters left by test runs that were killed."""
    prefix, _, _ = _as_user()
    for workdir in glob.glob(os.path.join(tempfile.gettempdir(), _PREFIX + "*")):
        try:
            owner = int(Path(workdir, _OWNER).read_text())
        except (OSError, ValueError):
            continue
        if not _alive(owner):
            Cluster("", 0, workdir, [*prefix, os.path.join(bindir, "pg_ctl")]).stop()


def find_binaries() -> str | None:
    """Return the directory holding ``initdb`` and ``pg_ctl``, or ``None``."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return os.path.dirname(os.path.realpath(initdb))
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return os.path.dirname(candidates[0]) if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_user() -> tuple[list[str], int, int]:
    if os.geteuid() != 0:
        return [], os.getuid(), os.getgid()
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        prefix = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups"]
        return prefix, entry.pw_uid, entry.pw_gid
    raise RuntimeError("Running as root, and neither a 'postgres' nor a 'nobody' user exists.")


def start_cluster(bindir: str) -> Cluster:
    """Create and start a cluster; raise ``RuntimeError`` with its log if it fails."""
    prefix, uid, gid = _as_user()
    stop_orphans(bindir)
    workdir = tempfile.mkdtemp(prefix=_PREFIX)
    Path(workdir, _OWNER).write_text(str(os.getpid()))
    os.chown(workdir, uid, gid)
    data = os.path.join(workdir, "data")
    initdb = [*prefix, os.path.join(bindir, "initdb")]
    pg_ctl = [*prefix, os.path.join(bindir, "pg_ctl")]
    done = subprocess.run(
        [*initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        shutil.rmtree(workdir, ignore_errors=True)
        raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
    port = _free_port()
    options = (
        f"-p {port} -h 127.0.0.1 -k {workdir} -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off"
    )
    log = os.path.join(workdir, "log")
    done = subprocess.run(
        [*pg_ctl, "-D", data, "-l", log, "-w", "-t", "30", "-o", options, "start"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        text = Path(log).read_text() if os.path.exists(log) else ""
        shutil.rmtree(workdir, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start:\n{done.stdout}\n{done.stderr}\n{text}")
    return Cluster("127.0.0.1", port, workdir, pg_ctl)
