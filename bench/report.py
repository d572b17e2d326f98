"""The report: ``bench/RESULTS.md`` from one run's JSON lines, with ratios and targets.

``python -m bench.report bench/results/<id>.jsonl`` regenerates the report
from a kept results file. Everything in ``RESULTS.md`` is generated except the
section between the ``optimisations`` markers, which is carried over from the
existing file (it records each optimisation's before/after by hand).

Not here: running anything (``run``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["load", "main", "render", "summary_line", "write_report"]

CHANNELS_BASELINE = "channels-uvicorn"
REDIS_BASELINE = "channels-redis-uvicorn"
CEILING = "raw-hypercorn-trio"
ACTOR_SHAPED_RAW = "raw-hypercorn-trio-queue"
CALLBOARD_TRIO = "callboard-hypercorn-trio"
CALLBOARD_ASYNCIO = "callboard-uvicorn"
DJANGO_BASELINE = "django-uvicorn"
"""Django's own ASGI handler on uvicorn: the baseline of the Django HTTP scenarios."""
CALLBOARD_DJANGO_TRIO = "callboard-django-hypercorn-trio"
RAW_FOR_SERVER = {
    "hypercorn-trio": "raw-hypercorn-trio",
    "callboard-serve": "raw-hypercorn-trio",
    "uvicorn": "raw-uvicorn",
}
"""The framework-free app on the same server: each row's ceiling."""

OPT_START = "<!-- optimisations:start -->"
OPT_END = "<!-- optimisations:end -->"
OPT_DEFAULT = (
    "No optimisation recorded yet. For each one, add a row: what changed (file:function),\n"
    "the scenario and metric, the median before and after from two runs of the same\n"
    "`make bench` on a quiet machine, and the ratio.\n\n"
    "| optimisation | scenario | metric | before | after | after / before |\n"
    "|---|---|---|---|---|---|\n"
)

Getter = Callable[[dict[str, Any]], float | None]


@dataclass(frozen=True)
class Column:
    """One metric column of a scenario table."""

    title: str
    get: Getter
    higher_is_better: bool = True
    integer: bool = False


def _path(*keys: str) -> Getter:
    def get(result: dict[str, Any]) -> float | None:
        value: Any = result
        for key in keys:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return float(value) if isinstance(value, int | float) else None

    return get


_NOISE = Column("other load on server core %", _path("cpu", "other_on_server_core_pct"), False)

_LOAD = [
    Column("server CPU %", _path("cpu", "server_cpu_pct")),
    Column("client CPU %", _path("cpu", "client_cpu_pct"), False),
    _NOISE,
]


def _round_trips(headline: str) -> list[Column]:
    """The closed-loop WebSocket columns (echo, ORM): ``headline`` per second, round trips, load."""
    return [
        Column(headline, _path("throughput_msgs_s")),
        Column("RTT p50 ms", _path("rtt_ms", "p50"), False),
        Column("RTT p99 ms", _path("rtt_ms", "p99"), False),
        Column("lost", _path("lost"), False, integer=True),
        *_LOAD,
    ]


COLUMNS: dict[str, list[Column]] = {
    "echo": _round_trips("msgs/s"),
    "fanout": [
        Column("deliveries/s", _path("deliveries_per_s")),
        Column("latency p50 ms", _path("latency_ms", "p50"), False),
        Column("latency p99 ms", _path("latency_ms", "p99"), False),
        Column("lost", _path("lost"), False, integer=True),
        *_LOAD,
    ],
    "orm": _round_trips("reads/s"),
    "http": [
        Column("requests/s", _path("throughput_rps")),
        Column("latency p50 ms", _path("latency_ms", "p50"), False),
        Column("latency p99 ms", _path("latency_ms", "p99"), False),
        Column("non-200", _path("non_200"), False, integer=True),
        Column("errors", _path("errors"), False, integer=True),
        *_LOAD,
    ],
    "idle": [
        Column("KiB/conn", _path("rss_per_conn_kib"), False),
        Column("connections", _path("opened"), integer=True),
        Column("alive", _path("alive"), integer=True),
        Column("connects/s", _path("connects_per_s")),
        Column("server CPU % (connecting)", _path("cpu", "server_cpu_pct")),
        Column("client CPU % (connecting)", _path("cpu", "client_cpu_pct"), False),
        _NOISE,
    ],
}
"""Each scenario kind's columns; the first is the headline the ratios use."""


def load(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """Read a results file: its meta line, its run lines and its end line (``{}`` if absent)."""
    meta: dict[str, Any] = {}
    runs: list[dict[str, Any]] = []
    end: dict[str, Any] = {}
    for text in path.read_text().splitlines():
        if not text.strip():
            continue
        line = json.loads(text)
        kind = line.get("kind")
        if kind == "meta":
            meta = line
        elif kind == "run":
            runs.append(line)
        elif kind == "end":
            end = line
    return meta, runs, end


def fmt(value: float | None) -> str:
    """Format a number for a table: thousands separators, fewer decimals as it grows."""
    if value is None:
        return "—"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _values(runs: Iterable[dict[str, Any]], get: Getter) -> list[float]:
    values = []
    for run in runs:
        if run["status"] == "ok" and run.get("result"):
            value = get(run["result"])
            if value is not None:
                values.append(value)
    return values


def median(runs: Iterable[dict[str, Any]], get: Getter) -> float | None:
    """The median of a metric over a group's successful runs."""
    values = _values(runs, get)
    return statistics.median(values) if values else None


def spread(runs: Sequence[dict[str, Any]], get: Getter, *, integer: bool = False) -> str:
    """``median (min-max)`` of a metric, or the median alone for one run."""
    values = _values(runs, get)
    if not values:
        return "—"
    show = (lambda v: f"{v:,.0f}") if integer else fmt
    mid = statistics.median(values)
    if len(values) == 1 or min(values) == max(values):
        return show(mid)
    return f"{show(mid)} ({show(min(values))}-{show(max(values))})"


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or ``None`` when either is missing or ``b`` is zero."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(value: float | None) -> str:
    """Format a ratio as ``3.42x``."""
    return "—" if value is None else f"{value:.2f}x"


def summary_line(line: dict[str, Any]) -> str:
    """One human line for a run, as the runner prints it."""
    head = f"{line['scenario']:<20} {line['server']:<32} r{line['repeat']} {line['status']:<7}"
    result = line.get("result")
    if line["status"] != "ok" or not result:
        reason = (line.get("error") or "").splitlines()[0:1]
        return f"{head} {reason[0] if reason else ''}"
    kind = line["scenario_kind"]
    cpu = result.get("cpu", {})
    load = (
        f"| server CPU {cpu.get('server_cpu_pct', 0):.0f}% "
        f"client CPU {cpu.get('client_cpu_pct', 0):.0f}% "
        f"other on server core {cpu.get('other_on_server_core_pct', 0):.0f}%"
    )
    if kind in ("echo", "orm"):
        rtt = result["rtt_ms"]
        unit = "reads/s" if kind == "orm" else "msgs/s"
        return (
            f"{head} {fmt(result['throughput_msgs_s'])} {unit}  RTT p50 {fmt(rtt['p50'])} ms "
            f"p99 {fmt(rtt['p99'])} ms  lost {result['lost']} {load}"
        )
    if kind == "fanout":
        lat = result["latency_ms"]
        return (
            f"{head} {fmt(result['deliveries_per_s'])} deliveries/s  p50 {fmt(lat['p50'])} ms "
            f"p99 {fmt(lat['p99'])} ms  lost {result['lost']} {load}"
        )
    if kind == "http":
        lat = result["latency_ms"]
        return (
            f"{head} {fmt(result['throughput_rps'])} requests/s  p50 {fmt(lat['p50'])} ms "
            f"p99 {fmt(lat['p99'])} ms  non-200 {result['non_200']} errors {result['errors']} "
            f"{load}"
        )
    if kind == "idle":
        return (
            f"{head} {fmt(result['rss_per_conn_kib'])} KiB/conn  "
            f"{result['alive']}/{result['opened']} alive {load}"
        )
    return head


# -- rendering ------------------------------------------------------------------------------


def _group(runs: Sequence[dict[str, Any]]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for run in runs:
        grouped.setdefault(run["scenario"], {}).setdefault(run["server"], []).append(run)
    return grouped


def _baseline_for(scenario: str) -> str:
    if scenario.startswith("redis-"):
        return REDIS_BASELINE
    if scenario.startswith("django-"):
        return DJANGO_BASELINE
    return CHANNELS_BASELINE


def _scenario_table(
    scenario: str, kind: str, by_server: dict[str, list[dict[str, Any]]]
) -> list[str]:
    columns = COLUMNS[kind]
    headline = columns[0]
    base_name = _baseline_for(scenario)
    baseline = median(by_server.get(base_name, []), headline.get)
    with_raw = kind != "http"  # no framework-free app serves Django's views
    extra = [f"x {base_name}", *(["x raw, same server"] if with_raw else [])]
    if kind == "fanout":
        extra.append(f"p99 / {base_name} p99")
    header = ["server", "runs", *(c.title for c in columns), *extra]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for server, runs in by_server.items():
        ok = [r for r in runs if r["status"] == "ok"]
        if not ok:
            status = sorted({r["status"] for r in runs})
            rows.append(f"| {server} | 0 | {', '.join(status)} |" + " |" * (len(header) - 3))
            continue
        value = median(ok, headline.get)
        raw_name = (
            None
            if scenario.startswith("redis-")
            else RAW_FOR_SERVER.get(ok[0].get("server_kind") or "")
        )
        raw = median(by_server.get(raw_name, []), headline.get) if raw_name else None
        cells = [
            server,
            f"{len(ok)}/{len(runs)}",
            *(spread(ok, c.get, integer=c.integer) for c in columns),
        ]
        if headline.higher_is_better:
            cells += [fmt_ratio(ratio(value, baseline)), fmt_ratio(ratio(value, raw))]
        else:  # memory: how many times less than the reference
            cells += [fmt_ratio(ratio(baseline, value)), fmt_ratio(ratio(raw, value))]
        if not with_raw:
            del cells[-1]
        if kind == "fanout":
            p99 = _path("latency_ms", "p99")
            cells.append(
                fmt_ratio(ratio(median(ok, p99), median(by_server.get(base_name, []), p99)))
            )
        rows.append("| " + " | ".join(cells) + " |")
    return rows


@dataclass(frozen=True)
class Verdict:
    """One target, what was measured for it, and whether it was met."""

    target: str
    measured: str
    met: bool | None
    noisy: bool = False


def _targets(grouped: dict[str, dict[str, list[dict[str, Any]]]], runs: Sequence[dict[str, Any]]
             ) -> list[Verdict]:  # fmt: skip
    verdicts: list[Verdict] = []

    def med(scenario: str, server: str, get: Getter) -> float | None:
        return median(grouped.get(scenario, {}).get(server, []), get)

    def check(target: str, scenario: str, mine: str, ref: str, get: Getter, limit: float,
              *, at_least: bool) -> None:  # fmt: skip
        value, reference = med(scenario, mine, get), med(scenario, ref, get)
        r = ratio(value, reference)
        if r is None:
            verdicts.append(Verdict(target, "not measured", None))
            return
        met = r >= limit if at_least else r <= limit
        measured = f"{r:.2f}x ({fmt(value)} vs {fmt(reference)})"
        noise = [
            (server, level)
            for server in (mine, ref)
            if (level := med(scenario, server, _NOISE.get)) is not None and level > NOISY_PCT
        ]
        if noise:
            measured += "; noisy: other load on the server core " + ", ".join(
                f"{server} {level:.0f}%" for server, level in noise
            )
        verdicts.append(Verdict(target, measured, met, noisy=bool(noise)))

    deliveries = _path("deliveries_per_s")
    p99 = _path("latency_ms", "p99")
    for scenario in ("fanout-spaced", "fanout-burst"):
        check(
            f"{scenario}: callboard (hypercorn trio) deliveries/s >= 4x Channels-uvicorn",
            scenario,
            CALLBOARD_TRIO,
            CHANNELS_BASELINE,
            deliveries,
            4.0,
            at_least=True,
        )
        check(
            f"{scenario}: callboard (hypercorn trio) p99 <= 1/5 of Channels-uvicorn's",
            scenario,
            CALLBOARD_TRIO,
            CHANNELS_BASELINE,
            p99,
            0.2,
            at_least=False,
        )
        check(
            f"{scenario}: callboard (hypercorn trio) deliveries/s within 15% of the raw ceiling",
            scenario,
            CALLBOARD_TRIO,
            CEILING,
            deliveries,
            0.85,
            at_least=True,
        )
        check(
            f"{scenario} (for information): callboard (hypercorn trio) deliveries/s within "
            "15% of the actor-shaped raw app (raw-hypercorn-trio-queue)",
            scenario,
            CALLBOARD_TRIO,
            ACTOR_SHAPED_RAW,
            deliveries,
            0.85,
            at_least=True,
        )
    throughput = _path("throughput_msgs_s")
    for scenario in ("echo-1", "echo-50"):
        check(
            f"{scenario}: callboard (hypercorn trio) msgs/s within 10% of the raw ceiling",
            scenario,
            CALLBOARD_TRIO,
            CEILING,
            throughput,
            0.9,
            at_least=True,
        )
        check(
            f"{scenario}: callboard (uvicorn) msgs/s >= 3x Channels-uvicorn",
            scenario,
            CALLBOARD_ASYNCIO,
            CHANNELS_BASELINE,
            throughput,
            3.0,
            at_least=True,
        )
    requests = _path("throughput_rps")
    for scenario in ("django-http-1", "django-http-50"):
        check(
            f"{scenario} (issue #5): callboard (hypercorn trio) Django requests/s at least on "
            "par with Django's ASGI handler on uvicorn",
            scenario,
            CALLBOARD_DJANGO_TRIO,
            DJANGO_BASELINE,
            requests,
            1.0,
            at_least=True,
        )
    for scenario in ("orm-postgresql", "orm-postgresql-remote"):
        check(
            f"{scenario} (issue #5): callboard (hypercorn trio) ORM reads/s >= 4x Channels-uvicorn",
            scenario,
            CALLBOARD_TRIO,
            CHANNELS_BASELINE,
            throughput,
            4.0,
            at_least=True,
        )
    kib = med("idle-5000", CALLBOARD_TRIO, _path("rss_per_conn_kib"))
    verdicts.append(
        Verdict("idle: callboard (hypercorn trio) <= 25 KiB per idle connection",
                "not measured" if kib is None else f"{kib:.1f} KiB",
                None if kib is None else kib <= 25.0)
    )  # fmt: skip
    verdicts.append(_loss_verdict(runs))
    return verdicts


def _loss_verdict(runs: Sequence[dict[str, Any]]) -> Verdict:
    ok = [r for r in runs if r["status"] == "ok" and r.get("result")]
    if not ok:
        return Verdict("zero lost messages (or counts match statistics())", "not measured", None)
    bad = []
    for run in ok:
        result = run["result"]
        lost = result.get("lost") or 0
        counted = result.get("server_undelivered")
        if lost and counted != lost:
            note = f", statistics() counted {counted}" if counted is not None else ""
            bad.append(f"{run['scenario']}/{run['server']} r{run['repeat']}: lost {lost}{note}")
    callboard_bad = [b for b in bad if "/callboard" in b]
    measured = "none lost in any run" if not bad else "; ".join(bad[:6])
    return Verdict(
        "zero lost messages where no overflow policy fired; else counts match statistics() "
        "(judged on callboard's runs)",
        measured,
        not callboard_bad,
    )


def _verdict_cell(verdict: Verdict) -> str:
    if verdict.met is None:
        return "not measured"
    text = "**met**" if verdict.met else "**not met**"
    return f"{text} (noisy: rerun quiet)" if verdict.noisy else text


def _existing_optimisations(target: Path) -> str:
    try:
        text = target.read_text()
    except OSError:
        return OPT_DEFAULT
    start, end = text.find(OPT_START), text.find(OPT_END)
    if start < 0 or end < start:
        return OPT_DEFAULT
    return text[start + len(OPT_START) : end].strip("\n") + "\n"


def render(meta: dict[str, Any], runs: Sequence[dict[str, Any]], end: dict[str, Any],
           *, source: str, optimisations: str = OPT_DEFAULT) -> str:  # fmt: skip
    """Render the whole report as Markdown."""
    from .plan import SCENARIOS

    titles = {s.name: s.title for s in SCENARIOS}
    order = {s.name: i for i, s in enumerate(SCENARIOS)}
    grouped = dict(sorted(_group(runs).items(), key=lambda item: order.get(item[0], len(order))))
    machine = meta.get("machine", {})
    lines = [
        "# Benchmark results",
        "",
        f"Generated by `make bench` (`bench/report.py`) from `{source}`. Regenerate with "
        "`python -m bench.report <results.jsonl>`. Only the *Optimisations* section is "
        "edited by hand; it is kept across regenerations.",
        "",
        "## The run",
        "",
        f"- Date: {meta.get('started_at', '?')}; mode: {meta.get('mode', '?')}, "
        f"up to {meta.get('repeats', '?')} repeat(s) per scenario and server (the runs column "
        "says how many); "
        f"took {end.get('elapsed_s', 0) / 60:.1f} min.",
        f"- Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, "
        f"{machine.get('memory_gib', '?')} GiB, Linux {machine.get('kernel', '?')}, "
        f"{machine.get('python_implementation', 'Python')} {machine.get('python', '?')}.",
        "- Servers pinned to core 0, the load generator (asyncio + uvloop, one process) to "
        "core 1, with `taskset`; everything on 127.0.0.1.",
        f"- Load average at start {_loadavg(meta.get('loadavg_start'))}, at end "
        f"{_loadavg(end.get('loadavg_end'))}: anything else running on the machine makes "
        "the numbers noisy (a server CPU % well under 100 in a saturating scenario means "
        "it shared its core).",
        f"- {_noisy_summary(runs)}",
        f"- callboard at commit {meta.get('git', {}).get('commit', '?')}"
        + (
            f" with {meta['git']['callboard_dirty_files']} uncommitted file(s) under callboard/"
            if meta.get("git", {}).get("callboard_dirty_files")
            else ""
        )
        + ".",
        "",
        "Versions: "
        + ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items() if v)
        + ".",
        "",
        "Each cell is the median over the repeats, with (min-max). Ratios compare medians: "
        "`x Channels-uvicorn` is the row's headline metric over Channels on uvicorn's; "
        "`x raw, same server` is over the framework-free app on the same ASGI server "
        "(hypercorn's trio worker for callboard under hypercorn or `callboard serve`, uvicorn "
        "for callboard on uvicorn). For memory the ratios are inverted (reference / row), so "
        "above 1x always means better. The raw ceiling for hypercorn's trio worker is "
        "`raw-hypercorn-trio`, whose room fan-out awaits every member's `send` from the "
        "publishing task; `raw-hypercorn-trio-queue` is the same app with a memory channel "
        "and writer task per member, the shape of an actor per connection. The Django HTTP "
        "scenarios (`django-*`) compare against Django's own ASGI handler on uvicorn "
        "(`x django-uvicorn`) and have no raw column.",
        "",
        "## Targets (issues #4 and #5)",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
    ]
    for verdict in _targets(grouped, runs):
        lines.append(f"| {verdict.target} | {verdict.measured} | {_verdict_cell(verdict)} |")
    lines += ["", "## Scenarios", ""]
    skipped: list[str] = []
    for scenario, by_server in grouped.items():
        kind = next(iter(by_server.values()))[0]["scenario_kind"]
        statuses = {r["status"] for runs_ in by_server.values() for r in runs_}
        if kind not in COLUMNS or statuses == {"skipped"}:
            for server, runs_ in by_server.items():
                skipped.append(f"- `{scenario}` on `{server}`: {runs_[0].get('error')}")
            continue
        lines += [f"### {scenario}: {titles.get(scenario, '')}", ""]
        lines += _scenario_table(scenario, kind, by_server)
        lines.append("")
        for server, runs_ in by_server.items():
            for run in runs_:
                if run["status"] == "skipped":
                    skipped.append(f"- `{scenario}` on `{server}`: {run.get('error')}")
                    break
    failed = [
        f"- `{r['scenario']}` on `{r['server']}` r{r['repeat']}: {r['status']}: "
        f"{(r.get('error') or '').splitlines()[0] if r.get('error') else ''}"
        for r in runs
        if r["status"] in ("failed", "timeout")
    ]
    lines += ["## Skipped and failed runs", ""]
    lines += sorted(set(skipped)) or ["- none skipped"]
    lines += failed or ["- none failed"]
    lines += [
        "",
        "## Optimisations (before → after)",
        "",
        OPT_START,
        optimisations.rstrip("\n"),
        OPT_END,
        "",
    ]
    return "\n".join(lines)


NOISY_PCT = 10.0
"""A run whose server core was this busy (%) with other processes is called noisy."""


def _noisy_summary(runs: Sequence[dict[str, Any]]) -> str:
    measured = [
        r for r in runs if r["status"] == "ok" and (r.get("result") or {}).get("cpu") is not None
    ]
    noisy = [
        r
        for r in measured
        if (r["result"]["cpu"].get("other_on_server_core_pct") or 0.0) > NOISY_PCT
    ]
    if not measured:
        return "No run measured its server core's other load."
    text = (
        f"{len(noisy)} of {len(measured)} runs had more than {NOISY_PCT:.0f}% of the "
        "server's core taken by other processes"
    )
    if noisy:
        worst = sorted(noisy, key=lambda r: -r["result"]["cpu"]["other_on_server_core_pct"])[:5]
        text += (
            " (worst: "
            + ", ".join(
                f"{r['scenario']}/{r['server']} r{r['repeat']} "
                f"{r['result']['cpu']['other_on_server_core_pct']:.0f}%"
                for r in worst
            )
            + ")"
        )
    return text + "; medians resist a noisy repeat, min-max shows it."


def _loadavg(values: Sequence[float] | None) -> str:
    return "?" if not values else " / ".join(f"{v:.2f}" for v in values)


def write_report(results: Path, target: Path) -> None:
    """Regenerate ``target`` from a results file, keeping its optimisations section."""
    meta, runs, end = load(results)
    try:
        source = str(results.resolve().relative_to(target.resolve().parent.parent))
    except ValueError:
        source = str(results)
    text = render(meta, runs, end, source=source, optimisations=_existing_optimisations(target))
    target.write_text(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: regenerate the report from a results file."""
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("results", type=Path, help="a bench/results/<id>.jsonl file")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "RESULTS.md")
    args = parser.parse_args(argv)
    write_report(args.results, args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
