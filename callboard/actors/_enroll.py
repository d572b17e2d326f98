"""Enrolments: actors a supervisor watches while they run in their owners' tasks.

A server runs each connection in a task of its own; the connection's actor
is enrolled with a supervisor instead of started by it. Each enrolment is the
block of a ``with`` statement, run in a cancel scope the supervisor can
shorten: on shutdown the actor gets ``request_stop()`` and the scope's
deadline moves to the end of the grace.

Not here: the supervisor's own children (``_supervisor``, ``_handle``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType

import anyio
import attrs

from ._child import Stoppable
from ._handle import send_stop

__all__: list[str] = []

logger = logging.getLogger("callboard.supervisor")


@attrs.define(eq=False)
class Enrollment:
    """The ``with`` block one enrolled actor runs in (see :meth:`Supervisor.enroll`)."""

    _registry: Enrollments
    actor: Stoppable
    scope: anyio.CancelScope = attrs.field(factory=anyio.CancelScope, init=False)

    def __enter__(self) -> anyio.CancelScope:
        self.scope.__enter__()
        self._registry._live[self] = None
        return self.scope

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        try:
            if not isinstance(exc, Exception):  # none, or cancellation: the scope decides
                swallowed = bool(self.scope.__exit__(exc_type, exc, traceback))
                if self.scope.cancelled_caught:
                    self._registry.cancelled += 1
                return swallowed
            self._registry.failures += 1
            logger.error(
                "Enrolled %r of supervisor %r failed.",
                self.actor,
                self._registry._owner,
                exc_info=exc,
            )
            self.scope.__exit__(None, None, None)
            return True  # a temporary child's failure is logged and forgotten
        finally:
            del self._registry._live[self]
            self._registry._on_leave()


@attrs.define(eq=False)
class Enrollments:
    """The actors enrolled with one supervisor, oldest first.

    Args:
        owner: the supervisor's name, for logs.
        on_leave: called whenever an enrolment ends.
    """

    _owner: str
    _on_leave: Callable[[], None]
    _live: dict[Enrollment, None] = attrs.field(factory=dict, init=False)
    failures: int = attrs.field(default=0, init=False)
    cancelled: int = attrs.field(default=0, init=False)
    """Enrolled blocks cancelled by their own scope (the grace ran out, or stopping failed)."""

    def __len__(self) -> int:
        return len(self._live)

    def actors(self) -> list[Stoppable]:
        """Return the enrolled actors, oldest first."""
        return [enrollment.actor for enrollment in self._live]

    def enroll(self, actor: Stoppable) -> Enrollment:
        """Return the block to enrol ``actor`` in; it logs, counts and swallows an ``Exception``."""
        return Enrollment(self, actor)

    def stop_all(self, deadline: float) -> None:
        """Tell every enrolled actor to stop, newest first; cancel its block at ``deadline``."""
        for enrollment in reversed(list(self._live)):
            enrollment.scope.deadline = min(enrollment.scope.deadline, deadline)
            send_stop(enrollment.actor, enrollment.scope, f"Enrolled {enrollment.actor!r}")
