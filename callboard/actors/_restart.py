"""Restart policy: which children a child's end restarts, and whether the intensity allows it.

Pure bookkeeping without I/O: the supervisor asks, this module answers.

Not here: stopping and starting the children (``_supervisor``).
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Callable, Sequence
from typing import TypeVar

import attrs

from ._child import check_timeout, coerce_enum

__all__ = ["RestartStrategy", "SupervisorConfig"]

_T = TypeVar("_T")


class RestartStrategy(enum.Enum):
    """Which children a supervisor restarts when one of them ends (Erlang's strategies)."""

    ONE_FOR_ONE = "one_for_one"
    """Only the child that ended."""
    ONE_FOR_ALL = "one_for_all"
    """Every child: the others are stopped (newest first), then all start again in order."""
    REST_FOR_ONE = "rest_for_one"
    """The child that ended and every child started after it, the same way."""

    @classmethod
    def coerce(cls, value: RestartStrategy | str) -> RestartStrategy:
        """Accept a member or its string value; raise ``ValueError`` naming the valid ones."""
        return coerce_enum(cls, value, "restart strategy")


def _strategy(value: RestartStrategy | str) -> RestartStrategy:
    return RestartStrategy.coerce(value)


def _check_max_restarts(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"max_restarts must be an int >= 0, got {value!r}.")


def _check_period(instance: object, attribute: attrs.Attribute[float], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ValueError(f"period must be a positive, finite number of seconds, got {value!r}.")


def _check_grace(instance: object, attribute: attrs.Attribute[float], value: object) -> None:
    if value is None:
        raise ValueError(f"{attribute.name} must be a number of seconds, not None.")
    check_timeout(instance, attribute, value)


@attrs.frozen(kw_only=True)
class SupervisorConfig:
    """How a supervisor restarts and stops its children.

    Attributes:
        strategy: ``"one_for_one"`` (default), ``"one_for_all"`` or ``"rest_for_one"``.
        max_restarts: restarts allowed within ``period`` (default 3); one more
            and the supervisor gives up. 0 gives up instead of the first restart.
        period: the sliding window for ``max_restarts``, in seconds (default 5).
        shutdown_timeout: the grace, in seconds, a child gets after
            ``request_stop()`` before it is cancelled (default 5), unless its
            spec or the shutdown call says otherwise. ``math.inf`` waits forever.

    Raises:
        ValueError: a value out of range, or an unknown strategy.
    """

    strategy: RestartStrategy = attrs.field(
        default=RestartStrategy.ONE_FOR_ONE, converter=_strategy
    )
    max_restarts: int = attrs.field(default=3, validator=_check_max_restarts)
    period: float = attrs.field(default=5.0, validator=_check_period)
    shutdown_timeout: float = attrs.field(default=5.0, validator=_check_grace)


@attrs.define(eq=False)
class RestartWindow:
    """Restart intensity: at most ``max_restarts`` restarts within ``period`` seconds.

    A sliding window over the event loop's clock: a restart counts while it
    is at most ``period`` seconds old (Erlang's rule).
    """

    _max_restarts: int
    _period: float
    _times: deque[float] = attrs.field(factory=deque, init=False)

    def allow(self, now: float) -> bool:
        """Count a restart at ``now``; return whether the limit still holds."""
        times = self._times
        times.append(now)
        while times[0] < now - self._period:
            times.popleft()
        return len(times) <= self._max_restarts


def restart_targets(
    strategy: RestartStrategy,
    children: Sequence[_T],
    ended: _T,
    running: Callable[[_T], bool],
) -> list[_T]:
    """Return the children to restart after ``ended`` ended, in start order.

    Args:
        strategy: the supervisor's strategy.
        children: every current child, in start order (``ended`` among them).
        ended: the child that ended.
        running: whether a child is still running; a sibling that already
            ended on its own is left to its own exit, not swept up here.
    """
    if strategy is RestartStrategy.ONE_FOR_ONE:
        return [ended]
    first = 0 if strategy is RestartStrategy.ONE_FOR_ALL else children.index(ended)
    return [child for child in children[first:] if child is ended or running(child)]
