"""Tests for ``callboard.routing._lifespan``: lifespan answered, hooks run and reported."""

from __future__ import annotations

import logging
import re

import anyio
import pytest

from callboard._asgi import Message
from callboard.routing import LifespanHook, ProtocolTypeRouter

from ._doubles import Endpoint, call

LIFESPAN = {"type": "lifespan", "asgi": {"version": "3.0"}}
STARTUP = {"type": "lifespan.startup"}
SHUTDOWN = {"type": "lifespan.shutdown"}


@pytest.mark.anyio
async def test_lifespan_without_hooks_completes_startup_and_shutdown() -> None:
    router = ProtocolTypeRouter({"http": Endpoint()})

    sent = await call(router, LIFESPAN, STARTUP, SHUTDOWN)

    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


async def test_hooks_run_in_order_before_each_report() -> None:
    journal: list[str] = []
    events: list[Message] = [STARTUP, SHUTDOWN]

    def hook(name: str) -> LifespanHook:
        async def run() -> None:
            journal.append(name)

        return run

    async def receive() -> Message:
        return events.pop(0)

    async def send(message: Message) -> None:
        journal.append(message["type"])

    router = ProtocolTypeRouter(
        {"http": Endpoint()},
        on_startup=[hook("open db"), hook("open layer")],
        on_shutdown=[hook("close layer"), hook("close db")],
    )

    await router(LIFESPAN, receive, send)

    assert journal == [
        "open db",
        "open layer",
        "lifespan.startup.complete",
        "close layer",
        "close db",
        "lifespan.shutdown.complete",
    ]


async def test_failing_startup_hook_reports_failed_and_stops_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[str] = []

    async def broken() -> None:
        raise ValueError("no database")

    async def later() -> None:
        ran.append("later")

    router = ProtocolTypeRouter({"http": Endpoint()}, on_startup=[broken, later])

    sent = await call(router, LIFESPAN, STARTUP)  # no shutdown follows a failed startup

    assert len(sent) == 1
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert re.fullmatch(
        r"startup hook test_\w+\.<locals>\.broken raised ValueError: no database",
        sent[0]["message"],
    )
    assert ran == []
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None


async def test_failing_shutdown_hook_still_runs_the_others_and_reports_failed() -> None:
    ran: list[str] = []

    async def broken() -> None:
        raise RuntimeError("layer gone")

    async def close_db() -> None:
        ran.append("close db")

    router = ProtocolTypeRouter({"http": Endpoint()}, on_shutdown=[broken, close_db])

    sent = await call(router, LIFESPAN, STARTUP, SHUTDOWN)

    assert ran == ["close db"]
    assert sent[0] == {"type": "lifespan.startup.complete"}
    assert sent[1]["type"] == "lifespan.shutdown.failed"
    assert sent[1]["message"].endswith(".broken raised RuntimeError: layer gone")


async def test_hooks_appended_by_a_server_after_construction_run() -> None:
    ran: list[str] = []

    async def server_hook() -> None:
        ran.append("server")

    router = ProtocolTypeRouter({"http": Endpoint()})
    router.on_startup.append(server_hook)

    await call(router, LIFESPAN, STARTUP, SHUTDOWN)

    assert ran == ["server"]


async def test_unknown_lifespan_events_are_ignored() -> None:
    router = ProtocolTypeRouter({"http": Endpoint()})

    sent = await call(router, LIFESPAN, {"type": "lifespan.custom"}, SHUTDOWN)

    assert sent == [{"type": "lifespan.shutdown.complete"}]


async def test_cancellation_in_a_hook_propagates_without_a_report() -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return STARTUP

    async def send(message: Message) -> None:
        sent.append(message)

    with anyio.CancelScope() as outer:

        async def hang() -> None:
            outer.cancel()
            await anyio.sleep_forever()

        router = ProtocolTypeRouter({"http": Endpoint()}, on_startup=[hang])
        await router(LIFESPAN, receive, send)

    assert outer.cancelled_caught
    assert sent == []
