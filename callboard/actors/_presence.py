"""Presence records: who is in a group, and the events that say someone joined or left.

A member is *present* in a group when it joined with metadata (``group_add(...,
metadata={...})``; ``{}`` for none). Its :class:`PresenceMember` carries its
address, that metadata and when it joined (Unix time, comparable across
processes). Join and leave events travel as ordinary messages of type
``callboard.presence`` to the group's *watchers*: the members of a companion
group, :func:`presence_events_group`. Consumers turn them into
``presence.join`` / ``presence.leave`` / ``presence.diff`` for their handlers.

Not here: keeping memberships (``_registry``, and the Redis layer), batching
events for a consumer (``callboard.consumers``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import Any, Final, Literal

import anyio
import attrs

from ._address import MAX_NAME_LENGTH

__all__ = [
    "PRESENCE_EVENT",
    "PresenceMember",
    "presence_event",
    "presence_events_group",
]

PRESENCE_EVENT: Final = "callboard.presence"
"""The ``type`` of a presence event on the wire (consumers handle it themselves)."""

_EVENTS_PREFIX: Final = "callboard.presence."

PresenceChange = Literal["join", "leave"]


@attrs.frozen(kw_only=True)
class PresenceMember:
    """One member present in a group.

    Attributes:
        address: the member's channel name.
        metadata: what it said about itself when it joined (a user id, a name, a device).
        joined_at: when it joined or last re-joined, in seconds since the epoch.
    """

    address: str
    metadata: Mapping[str, Any]
    joined_at: float

    def as_message(self) -> dict[str, Any]:
        """Return the member as a message-friendly dict (``address``, ``metadata``, ``joined_at``)."""
        return {
            "address": self.address,
            "metadata": dict(self.metadata),
            "joined_at": self.joined_at,
        }

    @classmethod
    def from_message(cls, data: Mapping[str, Any]) -> PresenceMember:
        """Build a member from :meth:`as_message`'s dict."""
        return cls(
            address=data["address"],
            metadata=dict(data.get("metadata") or {}),
            joined_at=float(data.get("joined_at", 0.0)),
        )


def wall_time(loop_time: float) -> float:
    """Convert a time on the event loop's clock into Unix time."""
    return time.time() - (anyio.current_time() - loop_time)


def presence_events_group(group: str) -> str:
    """Return the companion group whose members get ``group``'s presence events.

    ``callboard.presence.<group>``, or, when that would be too long for a group
    name, ``callboard.presence.`` and a hash of ``group``.
    """
    name = _EVENTS_PREFIX + group
    if len(name) < MAX_NAME_LENGTH:
        return name
    return _EVENTS_PREFIX + hashlib.sha256(group.encode()).hexdigest()[:40]


def presence_event(group: str, change: PresenceChange, member: PresenceMember) -> dict[str, Any]:
    """Return the wire message announcing that ``member`` joined or left ``group``."""
    return {
        "type": PRESENCE_EVENT,
        "group": group,
        "change": change,
        "member": member.as_message(),
    }
