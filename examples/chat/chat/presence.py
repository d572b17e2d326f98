"""Who is in a room: kept to this one module, to move to callboard's presence API later.

The consumer joins and leaves its room through :func:`enter` and :func:`leave`
(instead of ``group_add`` / ``group_discard``) and asks :func:`who_is_here`
for the names to show. How the names are known depends on the layer:

- **In-memory layer** (the default): a group membership carries metadata.
  :func:`enter` joins with ``{"name": ...}`` and :func:`who_is_here` reads
  ``layer.members(group)``. The registry drops the memberships of a
  connection that ended, however it ended, so the list is never stale.
- **Layers without membership metadata** (the Redis layers, where several
  processes share a room): each connection is a
  :class:`~chat.models.Visitor` row, written by :func:`enter` and deleted by
  :func:`leave`. ``callboard serve`` runs every consumer's ``disconnect`` on
  SIGTERM, so a clean shutdown leaves no rows; a process that is killed
  (SIGKILL, a crash, the autoreloader restarting ``runserver``) leaves its
  rows behind until ``Visitor.objects.filter(group=...).delete()``.
"""

from __future__ import annotations

from typing import Any

from .models import Visitor

GUEST = "guest"
"""The name shown for a visitor who has not logged in."""


def name_of(user: Any) -> str:
    """The name to show for ``user`` (an authenticated user or ``AnonymousUser``)."""
    return str(user.get_username()) if user.is_authenticated else GUEST


def _tracks_members(layer: Any) -> bool:
    """Whether ``layer`` keeps membership metadata (callboard's in-memory layer does)."""
    return callable(getattr(layer, "members", None))


async def enter(layer: Any, group: str, channel_name: str, name: str) -> None:
    """Join ``group`` as ``name``."""
    if _tracks_members(layer):
        await layer.group_add(group, channel_name, metadata={"name": name})
        return
    await Visitor.objects.aupdate_or_create(
        channel_name=channel_name, defaults={"group": group, "name": name}
    )
    await layer.group_add(group, channel_name)


async def leave(layer: Any, group: str, channel_name: str) -> None:
    """Leave ``group``."""
    await layer.group_discard(group, channel_name)
    if not _tracks_members(layer):
        await Visitor.objects.filter(channel_name=channel_name).adelete()


async def who_is_here(layer: Any, group: str) -> list[str]:
    """The names of everyone connected to ``group``, each once, sorted."""
    if _tracks_members(layer):
        names = {
            str(member.metadata["name"])
            for member in await layer.members(group)
            if member.metadata and "name" in member.metadata
        }
    else:
        names = {
            name
            async for name in Visitor.objects.filter(group=group).values_list("name", flat=True)
        }
    return sorted(names, key=lambda name: (name == GUEST, name.casefold()))
