"""Supervision snapshots: frozen statistics of a supervisor and of each of its children.

Not here: collecting them (``Supervisor.statistics``, ``ChildHandle.statistics``).
"""

from __future__ import annotations

import attrs

from ._actor import ActorStatistics
from ._child import ChildState, RestartType
from ._restart import RestartStrategy

__all__ = ["ChildStatistics", "SupervisorStatistics"]


@attrs.frozen(kw_only=True)
class ChildStatistics:
    """A snapshot of one supervised child.

    Attributes:
        name: the spec's name.
        state: where it is now.
        restart: its restart type.
        restarts: how many times it was started again.
        actor: the actor's own snapshot, when the child is an actor.
        supervisor: the nested supervisor's snapshot, when the child is one.
    """

    name: str
    state: ChildState
    restart: RestartType
    restarts: int
    actor: ActorStatistics | None = None
    supervisor: SupervisorStatistics | None = None


@attrs.frozen(kw_only=True)
class SupervisorStatistics:
    """A snapshot of one supervisor.

    Attributes:
        name: the supervisor's name.
        state: ``starting``, ``running``, ``stopping`` or ``stopped``.
        strategy: its restart strategy.
        children: its current children, in start order.
        children_by_state: how many current children are in each state (every state listed).
        restarts: child restarts so far (a one_for_all restart of three children counts 3).
        failures: child failures so far, temporary children's and enrolled actors' included.
        enrolled: actors enrolled right now.
        cancelled: enrolled actors cancelled so far because a shutdown's grace ran out.
        gave_up: whether it exceeded its restart intensity.
    """

    name: str
    state: ChildState
    strategy: RestartStrategy
    children: tuple[ChildStatistics, ...]
    children_by_state: dict[ChildState, int]
    restarts: int
    failures: int
    enrolled: int
    cancelled: int
    gave_up: bool

    @property
    def restarts_by_child(self) -> dict[str, int]:
        """Restarts per current child, by name."""
        return {child.name: child.restarts for child in self.children}
