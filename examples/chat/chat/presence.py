"""Who is in a room: callboard's presence API, on whichever channel layer is configured.

The consumer joins its room as a present member with ``{"name": ...}``
(:meth:`~callboard.consumers.ConsumerPresence.join_presence`) and watches the
room's joins and leaves; :func:`who_is_here` turns ``layer.presence(group)``
into the names to show. On the in-memory layer that is the registry; on the
Redis layer the members of every process, kept alive by heartbeats, so a
process that is killed (SIGKILL, a crash, the autoreloader restarting
``runserver``) leaves no one behind for longer than ``presence_timeout``.
"""

from __future__ import annotations

from typing import Any

GUEST = "guest"
"""The name shown for a visitor who has not logged in."""


def name_of(user: Any) -> str:
    """The name to show for ``user`` (an authenticated user or ``AnonymousUser``)."""
    return str(user.get_username()) if user.is_authenticated else GUEST


async def who_is_here(layer: Any, group: str) -> list[str]:
    """The names of everyone connected to ``group``, each once, sorted (guests last)."""
    names = {str(member.metadata.get("name", GUEST)) for member in await layer.presence(group)}
    return sorted(names, key=lambda name: (name == GUEST, name.casefold()))
