"""The run plan: which scenarios exist, their parameters in full and quick mode, who runs them.

Not here: running the plan (``run``), the load itself (``loadgen``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DJANGO_HTTP_SERVERS",
    "ECHO_SERVERS",
    "SCENARIOS",
    "Scenario",
    "ScenarioParams",
    "scenario_params",
]


@dataclass(frozen=True)
class ScenarioParams:
    """The load generator's arguments for one scenario, and the bound on its run.

    Attributes:
        loadgen: command-line arguments after ``python -m bench.loadgen <kind>``.
        timeout: seconds the whole load-generator run may take before it is
            killed and recorded as ``timeout``.
    """

    loadgen: tuple[str, ...]
    timeout: float


@dataclass(frozen=True)
class Scenario:
    """One scenario of the suite.

    Attributes:
        name: its label in results (``fanout-burst``).
        kind: the load generator's scenario (``echo``, ``fanout``, ``idle``, ``orm``, ``http``).
        title: one line for the report.
        servers: names of the servers that run it (see ``servers.SERVERS``).
        session: ``shared`` scenarios run one after another on one server
            process per repeat; ``fresh`` ones get a server of their own;
            ``redis`` ones get two server processes and a private redis-server;
            ``orm`` ones a fresh server on a freshly seeded database.
        skip_reason: set for scenarios that cannot run yet (recorded as skipped).
        max_repeats: caps the default number of repeats (memory barely varies
            between repeats, and Redis runs are long); ``--repeats`` overrides it.
    """

    name: str
    kind: str
    title: str
    servers: tuple[str, ...]
    session: str = "shared"
    skip_reason: str | None = None
    max_repeats: int | None = None


ECHO_SERVERS = (
    "callboard-hypercorn-trio",
    "callboard-serve",
    "callboard-uvicorn",
    "channels-uvicorn",
    "channels-daphne",
    "raw-hypercorn-trio",
    "raw-uvicorn",
)
"""Servers that run echo and fan-out on one process."""

FANOUT_SERVERS = (*ECHO_SERVERS, "raw-hypercorn-trio-queue")
IDLE_SERVERS = (
    "callboard-hypercorn-trio",
    "callboard-serve",
    "callboard-uvicorn",
    "channels-uvicorn",
    "channels-daphne",
    "raw-hypercorn-trio",
)
REDIS_SERVERS = ("callboard-redis-serve", "channels-redis-uvicorn")

ORM_SERVERS = ("callboard-hypercorn-trio", "channels-uvicorn")

SYNC_SERVERS = (
    "callboard-hypercorn-trio",
    "callboard-serve",
    "channels-uvicorn",
    "channels-daphne",
)
"""Servers for the sync consumer (handlers in threads): no framework-free counterpart."""

DJANGO_HTTP_SERVERS = (
    "callboard-django-hypercorn-trio",
    "callboard-django-serve",
    "django-uvicorn",
)
"""Servers of the Django project in ``bench/apps/django_http.py`` (HTTP only)."""

DJANGO_HTTP_PATHS = {"django-http": "/hello/", "django-json": "/json/"}
"""Each HTTP scenario family's endpoint."""

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("echo-1", "echo", "Echo, 1 connection (closed loop)", ECHO_SERVERS),
    Scenario("echo-50", "echo", "Echo, 50 connections (closed loop)", ECHO_SERVERS),
    Scenario(
        "echo-50-sync",
        "echo",
        "Echo from a sync WebsocketConsumer (handler in a thread), 50 connections (closed loop)",
        SYNC_SERVERS,
    ),
    Scenario(
        "fanout-spaced",
        "fanout",
        "Fan-out to 1,000 members in one room, 50 messages 20 ms apart",
        FANOUT_SERVERS,
    ),
    Scenario(
        "fanout-burst",
        "fanout",
        "Fan-out to 1,000 members in one room, 50 messages in a burst",
        FANOUT_SERVERS,
    ),
    Scenario(
        "idle-5000",
        "idle",
        "5,000 idle connections: server RSS per connection",
        IDLE_SERVERS,
        session="fresh",
        max_repeats=2,
    ),
    Scenario(
        "redis-fanout-spaced",
        "fanout",
        "Fan-out across two server processes through Redis, 50 messages 20 ms apart",
        REDIS_SERVERS,
        session="redis",
        max_repeats=2,
    ),
    Scenario(
        "redis-fanout-burst",
        "fanout",
        "Fan-out across two server processes through Redis, 50 messages in a burst",
        REDIS_SERVERS,
        session="redis",
        max_repeats=2,
    ),
    Scenario(
        "orm-sqlite",
        "orm",
        "ORM reads, 50 connections each reading a row per message, SQLite",
        ORM_SERVERS,
        session="orm",
        max_repeats=2,
    ),
    Scenario(
        "orm-postgresql",
        "orm",
        "ORM reads, 50 connections each reading a row per message, PostgreSQL",
        ORM_SERVERS,
        session="orm",
        max_repeats=2,
    ),
    Scenario(
        "orm-postgresql-remote",
        "orm",
        "ORM reads, 50 connections, PostgreSQL 1 ms away (a round trip through a delaying proxy)",
        ORM_SERVERS,
        session="orm",
        max_repeats=2,
    ),
    Scenario(
        "django-http-1",
        "http",
        "Django plain view (GET /hello/), 1 keep-alive connection (closed loop)",
        DJANGO_HTTP_SERVERS,
    ),
    Scenario(
        "django-http-50",
        "http",
        "Django plain view (GET /hello/), 50 keep-alive connections (closed loop)",
        DJANGO_HTTP_SERVERS,
    ),
    Scenario(
        "django-json-50",
        "http",
        "Django JsonResponse view (GET /json/), 50 keep-alive connections (closed loop)",
        DJANGO_HTTP_SERVERS,
    ),
)
"""Every scenario, in the order the suite runs them."""


def scenario_params(scenario: Scenario, *, quick: bool) -> ScenarioParams:
    """Return the load generator's arguments and time bound for ``scenario``.

    Quick mode keeps each scenario's shape (the same connections and, for
    fan-out, the same room size) but measures for less time, sends fewer
    fan-out messages and opens fewer idle connections.
    """
    if scenario.kind == "echo":
        connections = scenario.name.split("-")[1]
        duration, warmup = ("1", "0.5") if quick else ("2", "0.5")
        path = ("--path", "/ws/sync-echo/") if scenario.name.endswith("-sync") else ()
        return ScenarioParams(
            ("--connections", connections, "--duration", duration, "--warmup", warmup, *path),
            60.0,
        )
    if scenario.kind == "fanout":
        interval = "0.02" if scenario.name.endswith("spaced") else "0"
        messages = "20" if quick else "50"
        drain = "40" if quick else "90"
        return ScenarioParams(
            (
                "--connections", "1000", "--messages", messages, "--interval", interval,
                "--drain-timeout", drain, "--stall-timeout", "10", "--settle", "0.5",
            ),
            float(drain) + 60.0,
        )  # fmt: skip
    if scenario.kind == "idle":
        connections = "2000" if quick else "5000"
        return ScenarioParams(
            ("--connections", connections, "--drain-timeout", "30", "--settle", "0.5"), 120.0
        )
    if scenario.kind == "orm":
        duration, warmup = ("1", "0.5") if quick else ("2", "0.5")
        return ScenarioParams(
            ("--path", "/ws/orm/", "--connections", "50", "--duration", duration,
             "--warmup", warmup),
            60.0,
        )  # fmt: skip
    if scenario.kind == "http":
        family, _, connections = scenario.name.rpartition("-")
        duration = "1.5" if quick else "3"
        return ScenarioParams(
            ("--path", DJANGO_HTTP_PATHS[family], "--connections", connections,
             "--duration", duration, "--warmup", "1", "--drain-timeout", "10"),
            60.0,
        )  # fmt: skip
    return ScenarioParams((), 60.0)
