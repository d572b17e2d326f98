"""Background workers: ``ChannelNameRouter`` consumers supervised, restarted, stopped cleanly."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

import anyio
import pytest

from callboard.actors import Supervisor
from callboard.django_bridge import WorkerConfig, serve_worker
from callboard.exceptions import RestartIntensityError
from callboard.layers import get_channel_layer

pytestmark = pytest.mark.django_db(transaction=True)

FAST = WorkerConfig(restart_initial_interval=0.01, restart_max_interval=0.05, shutdown_timeout=2)


async def _notes() -> list[str]:
    from django_project.notes.models import Note

    return [note.text async for note in Note.objects.order_by("pk")]


async def _wait_for(condition: Callable[[], Awaitable[bool]]) -> None:
    """Poll ``condition`` (the database has no event to wait on) for up to 5 s."""
    for _ in range(500):
        if await condition():
            return
        await anyio.sleep(0.01)
    raise AssertionError("the condition never held")


async def _restarted(supervisor: Supervisor) -> bool:
    return supervisor.statistics().restarts >= 1


def _worker(stop: anyio.Event, config: WorkerConfig = FAST):  # type: ignore[no-untyped-def]
    from django_project.asgi import application

    return functools.partial(
        serve_worker, application, ["tasks"], config=config, shutdown_trigger=stop.wait
    )


async def test_a_worker_handles_messages_sent_to_its_channel() -> None:
    stop = anyio.Event()
    async with anyio.create_task_group() as task_group:
        await task_group.start(_worker(stop))
        await get_channel_layer().send("tasks", {"type": "task.create", "text": "queued"})
        await _wait_for(lambda: _has(["queued"]))
        stop.set()


async def _has(expected: list[str]) -> bool:
    return await _notes() == expected


async def test_a_crashed_consumer_is_restarted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="callboard")
    stop = anyio.Event()
    layer = get_channel_layer()
    async with anyio.create_task_group() as task_group:
        supervisor = await task_group.start(_worker(stop))
        await layer.send("tasks", {"type": "task.crash"})
        await _wait_for(lambda: _restarted(supervisor))
        await layer.send("tasks", {"type": "task.create", "text": "after the crash"})
        await _wait_for(lambda: _has(["after the crash"]))
        stop.set()


async def test_a_worker_gives_up_past_its_restart_intensity(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.CRITICAL, logger="callboard")
    layer = get_channel_layer()
    config = WorkerConfig(
        max_restarts=1, period=60, restart_initial_interval=0, restart_max_interval=0
    )

    async def crash_twice() -> None:
        async with anyio.create_task_group() as task_group:
            supervisor = await task_group.start(_worker(anyio.Event(), config))
            await layer.send("tasks", {"type": "task.crash"})
            await _wait_for(lambda: _restarted(supervisor))
            await layer.send("tasks", {"type": "task.crash"})

    with pytest.raises(ExceptionGroup) as raised:
        await crash_twice()
    assert raised.group_contains(RestartIntensityError, match="gave up")


async def test_shutdown_lets_the_message_in_hand_finish() -> None:
    stop = anyio.Event()
    async with anyio.create_task_group() as task_group:
        await task_group.start(_worker(stop))
        await get_channel_layer().send(
            "tasks", {"type": "task.slow", "seconds": 0.2, "text": "finished"}
        )
        await anyio.sleep(0.05)
        stop.set()
    assert await _notes() == ["finished"]


async def test_a_worker_needs_channels() -> None:
    with pytest.raises(ValueError, match="at least one channel"):
        await serve_worker(lambda *args: None, [])  # type: ignore[arg-type, return-value]


def test_worker_settings_are_checked() -> None:
    with pytest.raises(ValueError, match=r"Unknown worker setting.*valid: max_restarts"):
        WorkerConfig.from_mapping({"max_restart": 3})
    assert WorkerConfig.from_mapping({"MAX_RESTARTS": 3}).max_restarts == 3
