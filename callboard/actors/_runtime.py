"""Runtime: the registry and live actors of one running event loop.

Each event loop gets its own runtime (an AnyIO ``RunVar``), so two tests, or
two ``trio.run`` calls in one process, never share addresses or groups.

Not here: the actors themselves (``_actor``) and restarts (``_supervisor``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

import anyio
import attrs
from anyio.lowlevel import RunVar

from ._registry import Registry, RegistryStatistics

if TYPE_CHECKING:
    from ._actor import Actor
    from ._supervisor import Supervisor

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
    supervisor: Supervisor | None = None
    """The root supervisor connections enroll with, when a server set one."""

    def enroll(self, actor: Actor) -> AbstractContextManager[anyio.CancelScope | None]:
        """Enroll ``actor`` with the root supervisor for the block, if there is one.

        Under a server, shutdown then reaches the actor (``request_stop``)
        and, after the grace period, cancels the block. Without a root
        supervisor (a communicator in a test) it does nothing.
        """
        if self.supervisor is None:
            return nullcontext()
        return self.supervisor.enroll(actor)

    @contextmanager
    def using_supervisor(self, supervisor: Supervisor) -> Iterator[Supervisor]:
        """Make ``supervisor`` the root supervisor for the block."""
        previous, self.supervisor = self.supervisor, supervisor
        try:
            yield supervisor
        finally:
            self.supervisor = previous

    async def shutdown(self, grace: float) -> None:
        """Ask every enrolled actor to finish within ``grace`` seconds, then cancel them.

        Does nothing without a root supervisor.
        """
        if self.supervisor is not None:
            await self.supervisor.shutdown(grace)

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
