"""The suite runner: starts each server, drives the load generator, records one JSON line per run.

``python -m bench`` (or ``make bench``) runs the plan in ``plan``: each
repeat goes through every server in turn (rotating the order, so slow drift
in the machine's load does not favour one server), the server pinned to core
0 and the load generator to core 1. A run that fails or times out is
recorded as such and the suite goes on. At the end ``bench/RESULTS.md`` is
regenerated from this run's file.

Not here: the measurements (``loadgen``), the servers (``servers``), the
report (``report``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import psutil

from . import report
from .loadgen import raise_fd_limit
from .plan import SCENARIOS, Scenario, scenario_params
from .servers import REPO, SERVERS, RunningServer, start_server
from .services import seed_database, start_delay_proxy, start_postgres, start_redis

__all__ = ["main"]

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
SERVER_CORE, CLIENT_CORE = 0, 1

REMOTE_DELAY_MS = 0.5
"""What ``-remote`` ORM scenarios add to each direction: a 1 ms round trip to the database."""

VERSIONED = (
    "callboard", "trio", "anyio", "hypercorn", "wsproto", "h11", "Django", "channels",
    "daphne", "twisted", "autobahn", "uvicorn", "websockets", "uvloop", "httptools",
    "channels-redis", "redis", "coredis", "psutil", "py-spy",
)  # fmt: skip


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip()


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _redis_version() -> str | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or None


def collect_meta(args: argparse.Namespace, suite_id: str) -> dict[str, Any]:
    """Describe the machine, the software and the plan of this run."""
    dirty = _git("status", "--porcelain", "--", "callboard")
    return {
        "kind": "meta",
        "suite_id": suite_id,
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "repeats": args.repeats or (1 if args.quick else 3),
        "machine": {
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "kernel": platform.release(),
            "python": platform.python_version(),
            "python_implementation": platform.python_implementation(),
        },
        "pinning": {"server_core": SERVER_CORE, "client_core": CLIENT_CORE},
        "loadavg_start": list(os.getloadavg()),
        "git": {
            "commit": _git("rev-parse", "--short", "HEAD"),
            "callboard_dirty_files": len(dirty.splitlines()) if dirty else 0,
        },
        "versions": {name: _version(name) for name in VERSIONED}
        | {"redis-server": _redis_version()},
    }


class Suite:
    """One run of the suite: the output file, the log folder, the counters."""

    def __init__(self, args: argparse.Namespace, out: IO[str], log_dir: Path, total: int) -> None:
        self.args = args
        self.out = out
        self.log_dir = log_dir
        self.total = total
        self.done = 0
        self.failures = 0
        self.lines: list[dict[str, Any]] = []

    # -- recording -------------------------------------------------------------------------

    def record(self, line: dict[str, Any]) -> None:
        """Append one JSON line to the results file (flushed at once)."""
        self.lines.append(line)
        self.out.write(json.dumps(line) + "\n")
        self.out.flush()

    def record_run(
        self,
        scenario: Scenario,
        server: str,
        repeat: int,
        status: str,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        params: Sequence[str] = (),
        started: float | None = None,
    ) -> dict[str, Any]:
        """Record one run and print its summary line."""
        spec = SERVERS.get(server)
        line = {
            "kind": "run",
            "scenario": scenario.name,
            "scenario_kind": scenario.kind,
            "server": server,
            "framework": spec.framework if spec else None,
            "server_kind": spec.server if spec else None,
            "repeat": repeat,
            "status": status,
            "error": error,
            "params": list(params),
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "elapsed_s": time.monotonic() - started if started is not None else 0.0,
            "loadavg": list(os.getloadavg()),
            "result": result,
        }
        self.record(line)
        self.done += 1
        if status in ("failed", "timeout"):
            self.failures += 1
        print(f"[{self.done:3d}/{self.total}] {report.summary_line(line)}", flush=True)
        return line

    # -- running ---------------------------------------------------------------------------

    def loadgen(
        self, scenario: Scenario, servers: Sequence[RunningServer], label: str,
        extra_pids: Sequence[int] = (),
    ) -> tuple[str, dict[str, Any] | None, str | None, tuple[str, ...]]:  # fmt: skip
        """Run the load generator for ``scenario`` against ``servers``; bounded in time.

        Returns:
            ``(status, result, error, arguments)`` with status ``ok``, ``failed``
            or ``timeout``.
        """
        params = scenario_params(scenario, quick=self.args.quick)
        argv = [sys.executable, "-m", "bench.loadgen", scenario.kind, *params.loadgen]
        for server in servers:
            argv += ["--port", str(server.port), "--server-pid", str(server.pid)]
        for pid in extra_pids:
            argv += ["--server-pid", str(pid)]
        if self.server_core is not None:
            argv += ["--server-core", str(self.server_core)]
        if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
            argv = ["taskset", "-c", str(CLIENT_CORE), *argv]
        log_path = self.log_dir / f"{label}.loadgen.log"
        try:
            with log_path.open("w") as log:
                done = subprocess.run(
                    argv, cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True,
                    timeout=params.timeout, check=False,
                )  # fmt: skip
        except subprocess.TimeoutExpired:
            return "timeout", None, f"no result within {params.timeout:.0f}s", params.loadgen
        if done.returncode != 0:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-5:])
            return (
                "failed",
                None,
                f"load generator exited {done.returncode}: {tail}",
                params.loadgen,
            )
        try:
            result = json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return (
                "failed",
                None,
                f"unreadable load generator output {done.stdout[-300:]!r}",
                (params.loadgen),
            )
        return "ok", result, None, params.loadgen

    def run_one(
        self, scenario: Scenario, server_name: str, repeat: int,
        servers: Sequence[RunningServer], extra_pids: Sequence[int] = (),
    ) -> dict[str, Any]:  # fmt: skip
        """Run and record one scenario on already running servers."""
        started = time.monotonic()
        label = f"{scenario.name}.{server_name}.r{repeat}"
        status, result, error, params = self.loadgen(scenario, servers, label, extra_pids)
        if status != "ok":
            tails = "\n".join(s.log_tail(5) for s in servers if s.process.poll() is not None)
            if tails:
                error = f"{error}\nserver log:\n{tails}"
        return self.record_run(
            scenario, server_name, repeat, status, result=result, error=error, params=params,
            started=started,
        )  # fmt: skip

    def skip(self, scenario: Scenario, server: str, repeat: int, reason: str) -> None:
        """Record a run that could not happen, with the reason."""
        self.record_run(scenario, server, repeat, "skipped", error=reason)

    @contextlib.contextmanager
    def server(self, name: str, label: str, env: dict[str, str] | None = None
               ) -> Iterator[RunningServer]:  # fmt: skip
        """Start server ``name`` for the block and stop it afterwards."""
        running = start_server(
            SERVERS[name], log_dir=self.log_dir, label=label, core=self.server_core, env=env
        )
        try:
            yield running
        finally:
            running.stop()

    @property
    def server_core(self) -> int | None:
        """The core servers are pinned to, or ``None`` on a one-core machine."""
        return SERVER_CORE if (os.cpu_count() or 1) > 1 else None


def _needs_restart(line: dict[str, Any]) -> bool:
    """Whether a run may have left work behind in its server (then the next run gets a new one)."""
    if line["status"] != "ok":
        return True
    result = line["result"] or {}
    return bool(result.get("incomplete_rounds") or result.get("lost"))


def run_shared(suite: Suite, scenarios: Sequence[Scenario], server: str, repeat: int) -> None:
    """Run the ``shared`` scenarios one after another on one process of ``server``."""
    todo = [s for s in scenarios if server in s.servers]
    running: RunningServer | None = None
    try:
        for scenario in todo:
            if running is None:
                try:
                    running = start_server(
                        SERVERS[server], log_dir=suite.log_dir, label=f"{server}.r{repeat}",
                        core=suite.server_core,
                    )  # fmt: skip
                except RuntimeError as exc:
                    suite.record_run(scenario, server, repeat, "failed", error=str(exc))
                    continue
            line = suite.run_one(scenario, server, repeat, [running])
            if _needs_restart(line):
                running.stop()
                running = None
    finally:
        if running is not None:
            running.stop()


def run_fresh(suite: Suite, scenario: Scenario, server: str, repeat: int) -> None:
    """Run one scenario on a server process of its own."""
    try:
        with suite.server(server, f"{scenario.name}.{server}.r{repeat}") as running:
            suite.run_one(scenario, server, repeat, [running])
    except RuntimeError as exc:
        suite.record_run(scenario, server, repeat, "failed", error=str(exc))


def run_redis(suite: Suite, scenario: Scenario, server: str, repeat: int) -> None:
    """Run one scenario on two processes of ``server`` sharing a private redis-server."""
    label = f"{scenario.name}.{server}.r{repeat}"
    try:
        with (
            start_redis(log_dir=suite.log_dir, core=suite.server_core) as (url, redis_pid),
            suite.server(server, f"{label}.a", env={"BENCH_REDIS_URL": url}) as first,
            suite.server(server, f"{label}.b", env={"BENCH_REDIS_URL": url}) as second,
        ):
            suite.run_one(scenario, server, repeat, [first, second], extra_pids=[redis_pid])
    except RuntimeError as exc:
        suite.record_run(scenario, server, repeat, "failed", error=str(exc))


@contextlib.contextmanager
def _database(scenario: Scenario, suite: Suite, repeat: int) -> Iterator[tuple[str, list[int]]]:
    """A seeded database for an ORM scenario, and the pids serving it (metered as server).

    PostgreSQL runs on the client core, as a database server runs on a host of
    its own; for ``-remote`` scenarios the servers reach it through
    ``delay_proxy``, :data:`REMOTE_DELAY_MS` each way.
    """
    if "postgresql" in scenario.name:
        database_core = CLIENT_CORE if suite.server_core is not None else None
        with start_postgres(core=database_core) as (url, _postmaster):
            seed_database(url)
            if not scenario.name.endswith("-remote"):
                yield url, []
                return
            port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
            with start_delay_proxy(
                port, delay_ms=REMOTE_DELAY_MS, log_dir=suite.log_dir, core=database_core
            ) as proxied:
                yield url.replace(f":{port}/", f":{proxied}/"), []
    else:
        path = suite.log_dir / f"{scenario.name}.r{repeat}.sqlite3"
        path.unlink(missing_ok=True)
        url = f"sqlite:{path}"
        seed_database(url)
        try:
            yield url, []
        finally:
            path.unlink(missing_ok=True)


def run_orm(suite: Suite, scenario: Scenario, names: Sequence[str], repeat: int) -> None:
    """Run an ORM scenario on each server in turn, all on one freshly seeded database."""
    try:
        with _database(scenario, suite, repeat) as (url, database_pids):
            for name in names:
                try:
                    label = f"{scenario.name}.{name}.r{repeat}"
                    with suite.server(name, label, env={"BENCH_DB": url}) as running:
                        suite.run_one(scenario, name, repeat, [running], extra_pids=database_pids)
                except RuntimeError as exc:
                    suite.record_run(scenario, name, repeat, "failed", error=str(exc))
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        for name in names:
            suite.record_run(scenario, name, repeat, "failed", error=f"database: {exc}")


def _rotated(items: Sequence[str], by: int) -> list[str]:
    if not items:
        return []
    by %= len(items)
    return [*items[by:], *items[:by]]


def _selected(args: argparse.Namespace) -> tuple[list[Scenario], list[str]]:
    scenarios = list(SCENARIOS)
    if args.scenarios:
        wanted = set(args.scenarios.split(","))
        unknown = wanted - {s.name for s in scenarios}
        if unknown:
            raise SystemExit(f"Unknown scenario(s) {sorted(unknown)}; see --list.")
        scenarios = [s for s in scenarios if s.name in wanted]
    servers = list(SERVERS)
    if args.servers:
        wanted = set(args.servers.split(","))
        unknown = wanted - set(servers)
        if unknown:
            raise SystemExit(f"Unknown server(s) {sorted(unknown)}; see --list.")
        servers = [s for s in servers if s in wanted]
    return scenarios, servers


def run_suite(args: argparse.Namespace) -> int:
    """Run the selected plan; return the number of failed or timed-out runs."""
    scenarios, servers = _selected(args)
    raise_fd_limit()
    if (os.cpu_count() or 1) > 1:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {CLIENT_CORE})
    suite_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    results_dir = Path(args.results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    log_dir = results_dir / "logs" / suite_id
    log_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{suite_id}.jsonl"

    def repeats(scenario: Scenario) -> int:
        if args.repeats is not None:
            return int(args.repeats)
        default = 1 if args.quick else 3
        return min(default, scenario.max_repeats or default)

    def ready(name: str) -> bool:
        return name in servers and SERVERS[name].unavailable() is None

    runnable = [s for s in scenarios if s.skip_reason is None]
    skipped = [
        (s, name, s.skip_reason or SERVERS[name].unavailable() or "")
        for s in scenarios
        for name in s.servers
        if name in servers and (s.skip_reason or not ready(name))
    ]
    total = len(skipped) + sum(repeats(s) * sum(map(ready, s.servers)) for s in runnable)
    started = time.monotonic()
    print(f"bench: {total} runs ({'quick' if args.quick else 'full'} mode) -> {path}", flush=True)
    with path.open("w") as out:
        suite = Suite(args, out, log_dir, total)
        suite.record(collect_meta(args, suite_id))
        for scenario, name, reason in skipped:  # runs that cannot happen, recorded once
            suite.skip(scenario, name, 1, reason)
        for repeat in range(1, max(map(repeats, runnable), default=0) + 1):
            shared = [s for s in runnable if s.session == "shared" and repeats(s) >= repeat]
            shared_servers = [
                n for n in servers if ready(n) and any(n in s.servers for s in shared)
            ]
            for name in _rotated(shared_servers, repeat - 1):
                run_shared(suite, shared, name, repeat)
            for scenario in runnable:
                if repeats(scenario) < repeat or scenario.session == "shared":
                    continue
                names = [n for n in scenario.servers if ready(n)]
                if scenario.session == "orm":
                    run_orm(suite, scenario, _rotated(names, repeat - 1), repeat)
                    continue
                for name in _rotated(names, repeat - 1):
                    if scenario.session == "redis":
                        run_redis(suite, scenario, name, repeat)
                    else:
                        run_fresh(suite, scenario, name, repeat)
        suite.record(
            {
                "kind": "end",
                "elapsed_s": time.monotonic() - started,
                "loadavg_end": list(os.getloadavg()),
                "failures": suite.failures,
            }
        )
    print(f"bench: done in {time.monotonic() - started:.0f}s, {suite.failures} failed run(s)")
    if not args.no_report:
        target = Path(args.report)
        report.write_report(path, target)
        print(f"bench: wrote {target}")
    return suite.failures


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one repeat, shorter scenarios (a few minutes; for development)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="repeats per scenario and server, for every scenario (default: 3, quick 1; "
        "idle and Redis scenarios 2)",
    )
    parser.add_argument("--servers", help="comma-separated server names (default: all)")
    parser.add_argument("--scenarios", help="comma-separated scenario names (default: all)")
    parser.add_argument("--results-dir", default=str(RESULTS_DIR))
    parser.add_argument(
        "--report", default=str(BENCH_DIR / "RESULTS.md"), help="the report to regenerate"
    )
    parser.add_argument("--no-report", action="store_true", help="do not regenerate the report")
    parser.add_argument(
        "--strict", action="store_true", help="exit non-zero when a run failed or timed out"
    )
    parser.add_argument("--list", action="store_true", help="list scenarios and servers, then exit")
    return parser  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite from the command line."""
    args = _parser().parse_args(argv)
    if args.list:
        for scenario in SCENARIOS:
            note = f"  [skipped: {scenario.skip_reason}]" if scenario.skip_reason else ""
            print(f"{scenario.name:22} {scenario.title}{note}")
            print(f"{'':22} servers: {', '.join(scenario.servers)}")
        for name, spec in SERVERS.items():
            why = spec.unavailable()
            print(
                f"{name:32} {spec.framework}/{spec.server}"
                + (f"  [unavailable: {why}]" if why else "")
            )
        return 0
    failures = run_suite(args)
    return 1 if failures and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
