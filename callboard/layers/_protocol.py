"""The channel-layer protocols: Channels' layer API, and callboard's presence extension.

Not here: Channels' helpers for implementing it (``_base``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from callboard.actors import PresenceMember

__all__ = ["ChannelLayer", "PresenceLayer"]


@runtime_checkable
class ChannelLayer(Protocol):
    """Channels' channel-layer API, as every callboard layer implements it.

    Every method is a checkpoint. ``extensions`` names the optional parts a
    layer implements (``"groups"``, ``"flush"``).
    """

    @property
    def extensions(self) -> Sequence[str]:
        """The optional API parts this layer implements."""
        ...

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """Send ``message`` to ``channel``."""
        ...

    async def receive(self, channel: str) -> dict[str, Any]:
        """Wait for and return the next message on ``channel``."""
        ...

    async def new_channel(self, prefix: str = "specific.") -> str:
        """Return a fresh process-local channel name this process can receive on."""
        ...

    async def group_add(self, group: str, channel: str) -> None:
        """Add ``channel`` to ``group``."""
        ...

    async def group_discard(self, group: str, channel: str) -> None:
        """Remove ``channel`` from ``group``."""
        ...

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every member of ``group``."""
        ...

    async def flush(self) -> None:
        """Drop every queued message and every group."""
        ...

    async def close(self) -> None:
        """Release the layer's resources."""
        ...


@runtime_checkable
class PresenceLayer(ChannelLayer, Protocol):
    """A layer with the ``"presence"`` extension: who is in a group, across processes.

    A member joined with metadata (``{}`` for none) is *present*; its join
    and its leave (discarded, its connection ended, its process gone) reach
    the group's watchers as ``callboard.presence`` messages.
    """

    async def group_add(
        self, group: str, channel: str, *, metadata: Mapping[str, Any] | None = None
    ) -> None:
        """Add ``channel`` to ``group``; with ``metadata``, as a present member."""
        ...

    async def presence(self, group: str) -> list[PresenceMember]:
        """Return the members present in ``group``, in join order."""
        ...

    async def group_size(self, group: str) -> int:
        """Return how many members ``group`` has (present or not)."""
        ...

    async def presence_watch(self, group: str, channel: str) -> None:
        """Send ``group``'s joins and leaves to ``channel`` from now on."""
        ...

    async def presence_unwatch(self, group: str, channel: str) -> None:
        """Stop sending ``group``'s joins and leaves to ``channel``."""
        ...
