"""Runtime: the registry and live actors of one running event loop, and their roll-up.

Each event loop gets its own runtime (an AnyIO ``RunVar``), so two tests, or
two ``trio.run`` calls in one process, never share addresses or groups.
:meth:`Runtime.statistics` rolls every live actor, mailbox, group and the
root supervisor up into one snapshot; :meth:`Runtime.tree` prints the
supervision tree with what each actor is waiting on. Both are computed when
asked, never per message.

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
from ._totals import MailboxTotals

if TYPE_CHECKING:
    from ._actor import Actor
    from ._stats import SupervisorStatistics
    from ._supervisor import Supervisor

__all__ = ["Runtime", "RuntimeStatistics", "current_registry", "current_runtime"]


@attrs.frozen(kw_only=True)
class RuntimeStatistics:
    """A snapshot of one runtime: its actors, mailboxes, groups and root supervisor.

    Attributes:
        actors: live actors.
        actors_by_class: live actors by class (qualified name).
        depth_by_class: messages queued now in the mailboxes of each class's actors.
        peak_depth_by_class: the highest depth a live actor of each class has reached.
        mailboxes: every mailbox's counters added up, unregistered ones
            included: depth, peak, delivered, and undelivered by reason.
        registry: the registry's own snapshot.
        group_sizes: members per group (as last used; lapsed members are
            removed the next time a group is used).
        supervisor: the root supervisor's snapshot (restarts, failures,
            enrolled connections), when a server set one.
    """

    actors: int
    actors_by_class: dict[str, int]
    depth_by_class: dict[str, int]
    peak_depth_by_class: dict[str, int]
    mailboxes: MailboxTotals
    registry: RegistryStatistics
    group_sizes: dict[str, int]
    supervisor: SupervisorStatistics | None


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
        """Return one snapshot of the whole runtime (see :class:`RuntimeStatistics`).

        Cost: a pass over every live actor and mailbox; for a scrape or a
        dashboard, not per message.
        """
        by_class: dict[str, int] = {}
        depth: dict[str, int] = {}
        peak: dict[str, int] = {}
        for actor in self.actors.values():
            name = type(actor).__qualname__
            by_class[name] = by_class.get(name, 0) + 1
            mailbox = actor.mailbox
            if mailbox is not None:
                stats = mailbox.statistics()
                depth[name] = depth.get(name, 0) + stats.depth
                peak[name] = max(peak.get(name, 0), stats.peak_depth)
        return RuntimeStatistics(
            actors=len(self.actors),
            actors_by_class=by_class,
            depth_by_class=depth,
            peak_depth_by_class=peak,
            mailboxes=self.registry.mailbox_totals(),
            registry=self.registry.statistics(),
            group_sizes=self.registry.group_sizes(),
            supervisor=self.supervisor.statistics() if self.supervisor is not None else None,
        )

    def tree(self) -> str:
        """Return the running process's supervision tree as indented text.

        The root supervisor (when a server set one) with its children and
        enrolled connections, then every actor no supervisor knows about. Each
        actor's line gives its address, class, mailbox depth and what it is
        waiting on: ``mailbox`` (idle), ``handler chat_message``, ``signal
        ShutdownRequested`` ... (worked out from the suspended tasks now; the
        actor loop records nothing).
        """
        from ._introspect import waiting_on
        from ._tree import describe, render_tree

        notes = waiting_on(self.actors.values())
        stats = self.statistics()
        queued = sum(stats.depth_by_class.values())
        lines = [f"runtime: {stats.actors} actor(s), {queued} message(s) queued"]
        supervised: set[int] = set()
        if self.supervisor is not None:
            lines.append(render_tree(self.supervisor.name, self.supervisor, notes))
            supervised = {id(actor) for actor in _supervised(self.supervisor)}
        for actor in self.actors.values():
            if id(actor) not in supervised:
                lines.append(f"(unsupervised): {describe(actor, notes)}")
        return "\n".join(lines)


def _supervised(supervisor: Supervisor) -> list[object]:
    """Every child and enrolled actor under ``supervisor``, nested supervisors' included."""
    from ._supervisor import Supervisor

    found: list[object] = list(supervisor.enrolled())
    for handle in supervisor.children():
        child = handle.child
        found.append(child)
        if isinstance(child, Supervisor):
            found.extend(_supervised(child))
    return found


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
