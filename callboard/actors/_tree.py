"""The supervision tree as text: one line per child, nested supervisors indented.

Not here: the numbers themselves (``Supervisor.statistics``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from ._actor import Actor
from ._child import Stoppable, TaskChild
from ._handle import ChildHandle
from ._stats import SupervisorStatistics

__all__: list[str] = []


@runtime_checkable
class _Node(Protocol):
    """What the renderer needs of a supervisor."""

    def children(self) -> list[ChildHandle]: ...

    def enrolled(self) -> list[Stoppable]: ...

    def statistics(self) -> SupervisorStatistics: ...


def _summary(stats: SupervisorStatistics) -> str:
    return (
        f"{stats.strategy.value} supervisor, {stats.state.value}: restarts={stats.restarts} "
        f"failures={stats.failures} enrolled={stats.enrolled}"
    )


Notes = Mapping[int, str]
"""What each actor waits on, by ``id(actor)`` (see ``_introspect``)."""


def describe(child: object, notes: Notes | None = None) -> str:
    """Describe one child or enrolled actor on its line of the tree.

    With ``notes``, an actor's line also names its class and what it waits on.
    """
    if isinstance(child, Actor):
        depth = len(child.mailbox) if child.mailbox is not None else 0
        address = child.address or "(not running)"
        if notes is None:
            return f"actor {address} depth={depth}"
        waiting = notes.get(id(child), "nothing (not running)")
        return f"actor {address} ({type(child).__qualname__}) depth={depth}, waiting on {waiting}"
    if isinstance(child, TaskChild):
        return f"task {child.name}"
    if isinstance(child, _Node):
        return _summary(child.statistics())
    return type(child).__qualname__


def _render(node: _Node, lines: list[str], depth: int, notes: Notes | None) -> None:
    pad = "  " * depth
    for handle in node.children():
        child: object = handle.child
        about = "" if child is None else f", {describe(child, notes)}"
        lines.append(
            f"{pad}{handle.name} ({handle.spec.restart.value}, {handle.state.value}): "
            f"restarts={handle.restarts}{about}"
        )
        if isinstance(child, _Node):
            _render(child, lines, depth + 1, notes)
    for actor in node.enrolled():
        lines.append(f"{pad}(enrolled): {describe(actor, notes)}")


def render_tree(name: str, node: _Node, notes: Notes | None = None) -> str:
    """Return ``node``'s tree: a header line, then its children two spaces deeper per level.

    Args:
        name: the root's name.
        node: the supervisor to render.
        notes: what each actor waits on (by ``id``); with them, actor lines
            also name the actor's class.
    """
    lines = [f"{name} ({_summary(node.statistics())})"]
    _render(node, lines, 1, notes)
    return "\n".join(lines)
