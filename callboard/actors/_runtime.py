"""Runtime: the registry and live actors of one running event loop.

Each event loop gets its own runtime (an AnyIO ``RunVar``), so two tests, or
two ``trio.run`` calls in one process, never share addresses or groups.

Not here: the actors themselves (``_actor``) and restarts (``_supervisor``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
from anyio.lowlevel import RunVar

from ._registry import Registry, RegistryStatistics

if TYPE_CHECKING:
    from ._actor import Actor

__all__ = ["Runtime", "RuntimeStatistics", "current_registry", "current_runtime"]


@attrs.frozen(kw_only=True)
class RuntimeStatistics:
    """A snapshot of one runtime: live actors by class, and its registry."""

    actors: int
    actors_by_class: dict[str, int]
    registry: RegistryStatistics


@attrs.define(eq=False)
class Runtime:
    """The registry and live actors for one event loop.

    Get the running loop's with :func:`current_runtime`; it is created on first use.
    """

    registry: Registry = attrs.field(factory=Registry)
    actors: dict[str, Actor] = attrs.field(factory=dict)
    extras: dict[str, Any] = attrs.field(factory=dict)
    """Per-loop state other subsystems keep with the runtime, keyed by their name."""

    def statistics(self) -> RuntimeStatistics:
        """Return a snapshot of live actors and the registry."""
        by_class: dict[str, int] = {}
        for actor in self.actors.values():
            name = type(actor).__qualname__
            by_class[name] = by_class.get(name, 0) + 1
        return RuntimeStatistics(
            actors=len(self.actors),
            actors_by_class=by_class,
            registry=self.registry.statistics(),
        )


_current: RunVar[Runtime] = RunVar("callboard_runtime")


def current_runtime() -> Runtime:
    """Return the running event loop's runtime, creating it on first use.

    Raises:
        RuntimeError: no event loop is running (AnyIO's error).
    """
    try:
        return _current.get()
    except LookupError:
        runtime = Runtime()
        _current.set(runtime)
        return runtime


def current_registry() -> Registry:
    """Return the running event loop's registry."""
    return current_runtime().registry
