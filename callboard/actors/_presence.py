"""Presence records: who is in a group, and the events that say someone joined or left.

A member is *present* in a group when it joined with metadata (``group_add(...,
metadata={...})``; ``{}`` for none). Its :class:`PresenceMember` carries its
address, that metadata and when it joined (Unix time, comparable across
processes). Joins and leaves travel as ordinary messages of type
``callboard.presence`` (a diff: ``joins`` and ``leaves``, lists of members as
dicts) to the group's *watchers*: the members of a companion group,
:func:`presence_events_group`. Consumers turn them into ``presence.join`` /
``presence.leave`` / ``presence.diff`` for their handlers, batching under churn.

Not here: keeping memberships (``_registry``, and the Redis layer), batching
events for a consumer (``callboard.consumers``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping
from typing import Any, Final

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
        """Return the member as a plain dict: ``address``, ``metadata``, ``joined_at``."""
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


def presence_event(
    group: str,
    *,
    joins: Iterable[PresenceMember] = (),
    leaves: Iterable[PresenceMember] = (),
) -> dict[str, Any]:
    """Return the wire message announcing that members joined or left ``group``.

    Apply ``leaves`` before ``joins``: a member that re-joined (new metadata)
    is in both.
    """
    return {
        "type": PRESENCE_EVENT,
        "group": group,
        "joins": [member.as_message() for member in joins],
        "leaves": [member.as_message() for member in leaves],
    }
