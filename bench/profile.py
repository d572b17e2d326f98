"""Profile a server under one scenario with py-spy, and say where its time goes.

``python -m bench.profile --server callboard-hypercorn-trio --scenario fanout-burst``
starts the server (core 0), attaches py-spy to its busiest process (hypercorn's
worker), drives a longer version of the scenario, and writes
``bench/results/profiles/<server>.<scenario>.<id>.{txt,md}``: the raw collapsed
stacks and a summary with

- self time by package (the leaf frame's package: callboard, trio, hypercorn,
  wsproto, anyio, stdlib ...);
- "own" time by package: each sample charged to the package of the nearest
  non-stdlib frame, so a stdlib helper (``enum``, ``logging``) counts for
  whoever called it;
- the top functions by self time, and callboard's functions by own and by
  inclusive time.

``python -m bench.profile --analyse FILE.txt`` re-reads kept stacks.

Not here: the benchmark runs themselves (``run``).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .plan import SCENARIOS, scenario_params
from .servers import REPO, SERVERS, start_server
from .services import seed_database

__all__ = ["Profile", "analyse", "main"]

PROFILE_DIR = Path(__file__).resolve().parent / "results" / "profiles"

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")

PACKAGES = (
    "callboard", "trio", "hypercorn", "wsproto", "h11", "anyio", "attr", "attrs", "bench",
    "django", "channels", "daphne", "twisted", "autobahn", "uvicorn", "websockets",
    "asgiref", "outcome", "sniffio", "sortedcontainers", "priority", "h2",
)  # fmt: skip
"""Packages counted on their own; any other file is ``stdlib/other``."""

LONGER = {
    "echo": ("--duration", "20", "--warmup", "1"),
    "fanout": ("--rounds", "8"),
    "idle": (),
    "orm": ("--duration", "15", "--warmup", "1"),
    "http": ("--duration", "15", "--warmup", "1"),
}
"""Extra load-generator arguments, so a profile has enough samples."""


def package_of(filename: str) -> str:
    """Return the package a frame's (py-spy shortened) file belongs to."""
    path = filename.replace("\\", "/")
    for marker in ("site-packages/", "dist-packages/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    if "/work/" in path and "/bench/" in path:
        return "bench"
    head = path.lstrip("./").split("/", 1)[0]
    if head.endswith(".py"):
        head = head[:-3]
    return head if head in PACKAGES else "stdlib/other"


@dataclass
class Profile:
    """Collapsed stacks summed by package and by function."""

    samples: int = 0
    self_by_package: collections.Counter[str] = field(default_factory=collections.Counter)
    own_by_package: collections.Counter[str] = field(default_factory=collections.Counter)
    self_by_function: collections.Counter[str] = field(default_factory=collections.Counter)
    own_by_callboard_function: collections.Counter[str] = field(default_factory=collections.Counter)
    inclusive_by_callboard_function: collections.Counter[str] = field(
        default_factory=collections.Counter
    )
    inclusive_by_package: collections.Counter[str] = field(default_factory=collections.Counter)
    by_thread: collections.Counter[str] = field(default_factory=collections.Counter)


def _parse_frame(text: str) -> tuple[str, str, str]:
    match = _FRAME.match(text.strip())
    if match is None:
        return text.strip(), "", "stdlib/other"
    filename = match.group("file")
    return match.group("func"), filename, package_of(filename)


def analyse(lines: Iterable[str]) -> Profile:
    """Sum py-spy's raw (collapsed) stacks: ``frame;frame;... count`` per line."""
    profile = Profile()
    for line in lines:
        line = line.rstrip()
        if not line or " " not in line:
            continue
        stack_text, _, count_text = line.rpartition(" ")
        try:
            count = int(count_text)
        except ValueError:
            continue
        texts = [f for f in stack_text.split(";") if f]
        if texts and texts[0].startswith("thread ("):  # py-spy --threads labels each stack
            profile.by_thread[texts.pop(0)] += count
        frames = [_parse_frame(f) for f in texts]
        if not frames:
            continue
        profile.samples += count
        func, filename, package = frames[-1]
        label = f"{package}: {func} ({filename})"
        profile.self_by_package[package] += count
        profile.self_by_function[label] += count
        owner = next((f for f in reversed(frames) if f[2] != "stdlib/other"), frames[-1])
        profile.own_by_package[owner[2]] += count
        if owner[2] == "callboard":
            profile.own_by_callboard_function[f"{owner[0]} ({owner[1]})"] += count
        seen: set[str] = set()
        for f in frames:
            if f[2] == "callboard":
                key = f"{f[0]} ({f[1]})"
                if key not in seen:
                    seen.add(key)
                    profile.inclusive_by_callboard_function[key] += count
        for pkg in {f[2] for f in frames}:
            profile.inclusive_by_package[pkg] += count
    return profile


def _table(title: str, counter: collections.Counter[str], total: int, limit: int) -> list[str]:
    rows = [f"### {title}", "", "| % | samples | where |", "|---:|---:|---|"]
    for key, count in counter.most_common(limit):
        rows.append(f"| {100 * count / total:.1f} | {count} | `{key}` |")
    return [*rows, ""]


def render(profile: Profile, heading: str, notes: Sequence[str] = ()) -> str:
    """The profile summary as Markdown."""
    total = max(profile.samples, 1)
    lines = [f"# {heading}", "", *notes, "", f"{profile.samples} samples.", ""]
    if len(profile.by_thread) > 1:
        lines += _table("Samples by thread (the busiest is the event loop's)", profile.by_thread,
                        total, 8)  # fmt: skip
    lines += _table("Self time by package (leaf frame)", profile.self_by_package, total, 20)
    lines += _table(
        "Own time by package (nearest non-stdlib frame)", profile.own_by_package, total, 20
    )
    lines += _table(
        "Inclusive time by package (on the stack)", profile.inclusive_by_package, total, 20
    )
    lines += _table("Top functions by self time", profile.self_by_function, total, 30)
    lines += _table(
        "callboard functions by own time (self + stdlib they call)",
        profile.own_by_callboard_function,
        total,
        25,
    )
    lines += _table(
        "callboard functions by inclusive time", profile.inclusive_by_callboard_function, total, 25
    )
    return "\n".join(lines)


def record(
    server_name: str,
    scenario_name: str,
    *,
    quick: bool,
    rate: int,
    out_dir: Path,
    nonblocking: bool = False,
    gc_knob: str | None = None,
) -> Path:
    """Profile a server under a scenario; write the stacks and a summary; return the summary.

    Raises:
        RuntimeError: py-spy is missing, the server did not start, or the
            load generator failed.
    """
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        raise RuntimeError("py-spy is not installed: pip install -e '.[bench]'")
    scenario = next(s for s in SCENARIOS if s.name == scenario_name)
    params = scenario_params(scenario, quick=quick)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    if gc_knob:
        stamp = f"gc-{gc_knob.replace(':', '')}.{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir / f"{server_name}.{scenario_name}.{stamp}"
    stacks = base.parent / f"{base.name}.txt"
    env = {"BENCH_GC": gc_knob} if gc_knob else {}
    if scenario.session == "orm":  # SQLite only: a private cluster is the suite's business
        database = out_dir / f"{base.name}.sqlite3"
        env["BENCH_DB"] = f"sqlite:{database}"
        seed_database(env["BENCH_DB"])
    server = start_server(SERVERS[server_name], log_dir=out_dir / "logs", label=base.name, env=env)
    try:
        pid = server.busiest_pid()
        spy = subprocess.Popen(
            ["taskset", "-c", "1", py_spy, "record", "--pid", str(pid), "--rate", str(rate),
             "--format", "raw", "--output", str(stacks), "--threads",
             *(["--nonblocking"] if nonblocking else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        time.sleep(1.0)  # py-spy attaches
        argv = [
            "taskset", "-c", "1", sys.executable, "-m", "bench.loadgen", scenario.kind,
            *params.loadgen, *LONGER.get(scenario.kind, ()),
            "--port", str(server.port), "--server-pid", str(server.pid),
        ]  # fmt: skip
        done = subprocess.run(
            argv, cwd=REPO, capture_output=True, text=True, timeout=params.timeout * 8, check=False
        )
        spy.send_signal(signal.SIGINT)
        try:
            _, err = spy.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            spy.kill()
            _, err = spy.communicate()
        if done.returncode != 0:
            raise RuntimeError(f"load generator failed: {done.stderr[-500:]}")
    finally:
        server.stop()
    if not stacks.exists():
        raise RuntimeError(f"py-spy wrote nothing: {err.decode(errors='replace')[-500:]}")
    summary = base.parent / f"{base.name}.md"
    mode = "non-blocking" if nonblocking else "pausing the process per sample"
    notes = [
        f"Server `{server_name}` (pid {pid}) under `{scenario_name}` "
        f"(`{' '.join([*params.loadgen, *LONGER.get(scenario.kind, ())])}`), "
        f"py-spy at {rate} Hz, {mode}; BENCH_GC={gc_knob or '(unset)'}; "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; "
        f"load average {' / '.join(f'{v:.2f}' for v in os.getloadavg())}.",
        "",
        f"Load generator result: `{done.stdout.strip()[:600]}`",
    ]
    summary.write_text(
        render(analyse(stacks.read_text().splitlines()), f"Profile: {base.name}", notes)
    )
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: profile one or more servers under one or more scenarios."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--server", action="append", help="server name (repeatable)")
    parser.add_argument("--scenario", action="append", help="scenario name (repeatable)")
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    parser.add_argument("--quick", action="store_true", help="quick-mode scenario parameters")
    parser.add_argument(
        "--nonblocking",
        action="store_true",
        help="do not pause the server per sample (less overhead, less exact stacks)",
    )
    parser.add_argument("--out", type=Path, default=PROFILE_DIR)
    parser.add_argument(
        "--gc", dest="gc_knob", help="BENCH_GC for the server (off, freeze, threshold:N, measure)"
    )
    parser.add_argument("--analyse", type=Path, help="summarise a kept raw stacks file instead")
    args = parser.parse_args(argv)
    if args.analyse:
        print(render(analyse(args.analyse.read_text().splitlines()), f"Profile: {args.analyse}"))
        return 0
    servers = args.server or ["callboard-hypercorn-trio"]
    scenarios = args.scenario or ["fanout-burst", "echo-50"]
    for server in servers:
        for scenario in scenarios:
            summary = record(
                server,
                scenario,
                quick=args.quick,
                rate=args.rate,
                out_dir=args.out,
                nonblocking=args.nonblocking,
                gc_knob=args.gc_knob,
            )
            print(f"wrote {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
