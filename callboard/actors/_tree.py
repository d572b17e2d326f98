"""The supervision tree as text: one line per child, nested supervisors indented.

Not here: the numbers themselves (``Supervisor.statistics``).
"""

from __future__ import annotations

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


def _describe(child: object) -> str:
    if isinstance(child, Actor):
        depth = len(child.mailbox) if child.mailbox is not None else 0
        return f"actor {child.address or '(not running)'} depth={depth}"
    if isinstance(child, TaskChild):
        return f"task {child.name}"
    if isinstance(child, _Node):
        return _summary(child.statistics())
    return type(child).__qualname__


def _render(node: _Node, lines: list[str], depth: int) -> None:
    pad = "  " * depth
    for handle in node.children():
        child: object = handle.child
        about = "" if child is None else f", {_describe(child)}"
        lines.append(
            f"{pad}{handle.name} ({handle.spec.restart.value}, {handle.state.value}): "
            f"restarts={handle.restarts}{about}"
        )
        if isinstance(child, _Node):
            _render(child, lines, depth + 1)
    for actor in node.enrolled():
        lines.append(f"{pad}(enrolled): {_describe(actor)}")


def render_tree(name: str, node: _Node) -> str:
    """Return ``node``'s tree: a header line, then its children two spaces deeper per level."""
    lines = [f"{name} ({_summary(node.statistics())})"]
    _render(node, lines, 1)
    return "\n".join(lines)
