"""What the consumer tests share: live consumers, tasks and errors counted, a root supervisor."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

import pytest
import trio

from callboard.actors import Supervisor, current_runtime, open_supervisor

__all__ = [
    "Boom",
    "count_tasks",
    "error_records",
    "live",
    "running_supervisor",
    "the_one",
]

C = TypeVar("C")


class Boom(Exception):
    """What the failing consumers raise."""


def live(cls: type[C]) -> list[C]:
    """Return the running consumers of ``cls`` (exactly that class), oldest first."""
    return [actor for actor in current_runtime().actors.values() if type(actor) is cls]


def the_one(cls: type[C]) -> C:
    """Return the only running consumer of ``cls``."""
    (consumer,) = live(cls)
    return consumer


def error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Every record at ERROR or above, from any logger."""
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


def count_tasks() -> int:
    """Count every task in the running Trio run, the root task included."""

    def walk(task: trio.lowlevel.Task) -> int:
        return 1 + sum(walk(child) for n in task.child_nurseries for child in n.child_tasks)

    return walk(trio.lowlevel.current_root_task())


@asynccontextmanager
async def running_supervisor() -> AsyncIterator[Supervisor]:
    """A root supervisor that connections started in the block enroll with, as under a server."""
    async with open_supervisor(name="test-server") as supervisor:
        with current_runtime().using_supervisor(supervisor):
            yield supervisor
