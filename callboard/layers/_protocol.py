"""The channel-layer protocol: Channels' layer API as a typed ``typing.Protocol``.

Not here: Channels' helpers for implementing it (``_base``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

__all__ = ["ChannelLayer"]


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
