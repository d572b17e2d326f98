"""Private services the scenarios need: a redis-server, a PostgreSQL cluster, a seeded database.

Each runs on 127.0.0.1 on a free port, pinned like the servers, owned by the
suite for one run and removed afterwards; the machine's own Redis and
PostgreSQL are never touched.

Not here: the servers under test (``servers``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .servers import REPO, free_port, pinned

__all__ = ["seed_database", "start_delay_proxy", "start_postgres", "start_redis"]


@contextlib.contextmanager
def start_redis(*, log_dir: Path, core: int | None = 0) -> Iterator[tuple[str, int]]:
    """Run a private, non-persistent ``redis-server`` on a free port; yield its URL and pid.

    Raises:
        RuntimeError: no ``redis-server`` on the PATH, or it did not start.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    command = [
        binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning",
    ]  # fmt: skip
    with (log_dir / "redis.log").open("wb") as log:
        process = subprocess.Popen(
            pinned(command, core), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 10.0
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {process.returncode}")
            with contextlib.suppress(OSError):
                import socket

                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not answer PING within 10s")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", process.pid
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _postgres_binaries() -> str | None:
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return os.path.dirname(os.path.realpath(initdb))
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return os.path.dirname(candidates[0]) if candidates else None


def _as_postgres_user() -> tuple[list[str], int, int]:
    """``initdb`` refuses root: as root, run the cluster as ``postgres`` (or ``nobody``)."""
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


@contextlib.contextmanager
def start_postgres(*, core: int | None = 0) -> Iterator[tuple[str, int]]:
    """Run a throwaway PostgreSQL cluster (no fsync) on a free port; yield its URL and pid.

    The URL is a ``BENCH_DB`` value; the pid is the postmaster's, whose
    children are the backends serving the connections.

    Raises:
        RuntimeError: no ``initdb``/``pg_ctl``, or the cluster did not start.
    """
    bindir = _postgres_binaries()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    prefix, uid, gid = _as_postgres_user()
    workdir = tempfile.mkdtemp(prefix="callboard-bench-pg-")
    os.chown(workdir, uid, gid)
    data = os.path.join(workdir, "data")
    pg_ctl = [*prefix, os.path.join(bindir, "pg_ctl")]
    try:
        done = subprocess.run(
            [*prefix, os.path.join(bindir, "initdb"), "-D", data, "-U", "postgres",
             "--auth=trust", "-E", "UTF8", "--no-sync"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        port = free_port()
        options = (
            f"-p {port} -h 127.0.0.1 -k {workdir} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        log = os.path.join(workdir, "log")
        done = subprocess.run(
            pinned([*pg_ctl, "-D", data, "-l", log, "-w", "-t", "30", "-o", options, "start"],
                   core),
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            text = Path(log).read_text() if os.path.exists(log) else ""
            raise RuntimeError(f"PostgreSQL did not start:\n{done.stdout}\n{done.stderr}\n{text}")
        try:
            postmaster = int(Path(data, "postmaster.pid").read_text().split()[0])
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres", postmaster
        finally:
            subprocess.run(
                [*pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True, check=False
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def start_delay_proxy(
    target: int, *, delay_ms: float, log_dir: Path, core: int | None = 1
) -> Iterator[int]:
    """Run ``bench.delay_proxy`` in front of ``127.0.0.1:target``; yield the port to use instead.

    Every byte is held ``delay_ms`` each way, so a round trip gains twice that.

    Raises:
        RuntimeError: the proxy did not start.
    """
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "bench.delay_proxy",
        "--listen", str(port), "--target", str(target), "--delay-ms", str(delay_ms),
    ]  # fmt: skip
    with (log_dir / "delay-proxy.log").open("wb") as log:
        process = subprocess.Popen(
            pinned(command, core), cwd=REPO, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 10.0
        while not _listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the delay proxy did not start (exit {process.poll()})")
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _listening(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def seed_database(url: str, *, timeout: float = 60.0) -> None:
    """Create and fill the ORM scenario's table in the database ``url`` names.

    Raises:
        RuntimeError: seeding failed (the message has its output).
    """
    environment = dict(os.environ, BENCH_DB=url)
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), environment.get("PYTHONPATH", "")) if p
    )
    done = subprocess.run(
        [sys.executable, "-m", "bench.apps.orm"],
        cwd=REPO, env=environment, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"seeding {url} failed:\n{done.stdout[-500:]}\n{done.stderr[-1500:]}")
