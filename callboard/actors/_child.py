"""Child specs: what a supervisor starts, how it restarts it, and how it stops it.

A child is anything with ``async def run(self) -> None`` and ``def
request_stop(self) -> None`` (:class:`Child`); :class:`~callboard.actors.Actor`
and :class:`~callboard.actors.Supervisor` are children as they are. A
:class:`ChildSpec`'s ``start`` factory returns a new child for every (re)start,
or, for a worker that is a plain async function, a coroutine: the supervisor
runs that coroutine as a child whose graceful stop is cancellation.

Not here: starting, watching and restarting children (``_supervisor``).
"""

from __future__ import annotations

import enum
import inspect
import math
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar, runtime_checkable

import anyio
import attrs

__all__ = [
    "Child",
    "ChildFactory",
    "ChildSpec",
    "ChildState",
    "RestartType",
    "Stoppable",
    "TaskChild",
]

_E = TypeVar("_E", bound=enum.Enum)


def coerce_enum(cls: type[_E], value: _E | str, what: str) -> _E:
    """Return ``value`` as a member of ``cls``, accepting its string value.

    Raises:
        ValueError: ``value`` names no member; the message lists the valid ones.
    """
    if isinstance(value, cls):
        return value
    try:
        return cls(value)
    except ValueError:
        valid = ", ".join(repr(member.value) for member in cls)
        raise ValueError(f"Unknown {what} {value!r}; use one of {valid}.") from None


@runtime_checkable
class Stoppable(Protocol):
    """Something a supervisor can ask to finish: an enrolled actor needs only this."""

    def request_stop(self) -> None:
        """Ask it to finish soon; never blocks, idempotent."""


@runtime_checkable
class Child(Stoppable, Protocol):
    """What a supervisor runs: ``run()`` until done, ``request_stop()`` to finish early.

    ``request_stop()`` may be called at any time after ``run()`` was entered and
    must make ``run()`` return soon (an actor finishes its queued messages
    first); a child that ignores it is cancelled when its grace runs out.

    A child whose ``run`` also takes a ``task_status`` keyword (the
    ``nursery.start`` protocol, defaulting to ``anyio.TASK_STATUS_IGNORED``, as
    :meth:`Supervisor.run` does) counts as running only once it calls
    ``task_status.started()``. Any other child counts as running once ``run()``
    is entered; an :class:`~callboard.actors.Actor` is registered by then,
    because ``Actor.run`` attaches before its first checkpoint.
    """

    async def run(self) -> None:
        """Do the child's work; return when done or asked to stop."""


ChildFactory = Callable[[], Child | Coroutine[Any, Any, None]]
"""A ``ChildSpec.start``: a :class:`Child` class or factory, or an async function."""


class RestartType(enum.Enum):
    """When a child that ended is started again (Erlang's restart types)."""

    PERMANENT = "permanent"
    """Always restarted, whether it raised or returned."""
    TRANSIENT = "transient"
    """Restarted only if it raised."""
    TEMPORARY = "temporary"
    """Never restarted; a failure is logged with its traceback and forgotten."""

    @classmethod
    def coerce(cls, value: RestartType | str) -> RestartType:
        """Accept a member or its string value; raise ``ValueError`` naming the valid ones."""
        return coerce_enum(cls, value, "restart type")


class ChildState(enum.Enum):
    """Where a child (or a supervisor) is in its life."""

    STARTING = "starting"
    """Its task began; it has not reported that it is running yet."""
    RUNNING = "running"
    """It is running."""
    STOPPING = "stopping"
    """It was asked to stop and has not ended yet."""
    RESTARTING = "restarting"
    """It ended and its supervisor is about to start it again."""
    STOPPED = "stopped"
    """It ended for good; its supervisor has forgotten it."""


def _restart_type(value: RestartType | str) -> RestartType:
    return RestartType.coerce(value)


def _check_name(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"A child's name must be a non-empty str, got {value!r}.")


def check_timeout(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """attrs validator: ``None`` or a non-negative number of seconds (``math.inf`` allowed)."""
    if value is None:
        return
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or math.isnan(value)
        or value < 0
    ):
        raise ValueError(
            f"{attribute.name} must be a non-negative number of seconds, got {value!r}."
        )


@attrs.frozen(kw_only=True)
class ChildSpec:
    """How a supervisor starts, restarts and stops one child.

    Attributes:
        name: unique among the supervisor's current children; used in logs,
            statistics and the tree.
        start: called for every (re)start; returns a new :class:`Child` (an
            ``Actor`` subclass or ``functools.partial(MyActor, ...)`` works as
            is) or a coroutine (pass an ``async def`` worker, or a ``partial``
            of one), which runs as a child whose graceful stop is cancellation.
        restart: ``"permanent"``, ``"transient"`` or ``"temporary"``.
        shutdown_timeout: seconds the child may take to finish after
            ``request_stop()`` before it is cancelled; ``None`` for the
            supervisor's ``shutdown_timeout``. A supervisor-wide shutdown grace
            shorter than this wins.
    """

    name: str = attrs.field(validator=_check_name)
    start: ChildFactory = attrs.field(validator=attrs.validators.is_callable())
    restart: RestartType = attrs.field(default=RestartType.PERMANENT, converter=_restart_type)
    shutdown_timeout: float | None = attrs.field(default=None, validator=check_timeout)

    def build(self) -> Child:
        """Call ``start`` and return the child it made (coroutines wrapped).

        Raises:
            TypeError: ``start`` returned neither a child nor a coroutine.
            Exception: whatever ``start`` raised.
        """
        made = self.start()
        if inspect.iscoroutine(made):
            return TaskChild(made)
        if isinstance(made, Child):
            return made
        raise TypeError(
            f"ChildSpec {self.name!r}: start() returned {made!r}, which is neither a child "
            "(with async run() and request_stop()) nor a coroutine. Pass an Actor class, "
            "a factory returning one, or an async function."
        )


@attrs.define(eq=False)
class TaskChild:
    """Adapter: one coroutine run as a child; :meth:`request_stop` cancels it.

    Lifetime: build it in the task that awaits :meth:`run`, right before
    awaiting, so the coroutine is never left un-awaited.
    """

    _coro: Coroutine[Any, Any, None]
    _scope: anyio.CancelScope = attrs.field(factory=anyio.CancelScope, init=False)

    @property
    def name(self) -> str:
        """The coroutine's qualified name (shown in the supervision tree)."""
        return str(getattr(self._coro, "__qualname__", self._coro))

    async def run(self) -> None:
        """Await the coroutine; return early (without error) once stopped."""
        with self._scope:
            await self._coro

    def request_stop(self) -> None:
        """Cancel the coroutine (a plain function has no gentler way to stop)."""
        self._scope.cancel()
