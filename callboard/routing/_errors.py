"""The errors routers raise: a routing table that is wrong, a scope it does not cover.

Both are ``ValueError`` subclasses, what Channels' routers raise, so ported
``except ValueError`` clauses keep working.

Not here: what an unmatched WebSocket or HTTP path gets instead of an error
(``_url``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from callboard.exceptions import CallboardError

__all__ = ["NoRouteError", "RoutingConfigError", "describe_known"]

MAX_LISTED: Final = 20
"""How many known keys or patterns an error message lists before "and N more"."""


def describe_known(known: Sequence[str]) -> str:
    """Quote and join ``known`` for a message, at most :data:`MAX_LISTED` of them.

    Items are quoted, not ``repr()``-ed, so a regex reads as written.
    """
    if not known:
        return "none"
    shown = ", ".join(f"'{item}'" for item in known[:MAX_LISTED])
    hidden = len(known) - MAX_LISTED
    return f"{shown} and {hidden} more" if hidden > 0 else shown


class NoRouteError(CallboardError, ValueError):
    """A router got a scope that none of its entries covers.

    Raised for a scope type :class:`ProtocolTypeRouter` has no application
    for, a channel name :class:`ChannelNameRouter` has no application for,
    and a path :class:`URLRouter` cannot match on a scope that is neither
    ``websocket`` nor ``http`` (those two get a refusal and a 404 instead).

    Attributes:
        kind: what was looked up: ``"scope type"``, ``"channel name"`` or ``"path"``.
        value: the value that matched nothing.
        known: what would have matched (keys, or pattern texts).
        hint: what to do about it, or ``""``.
    """

    def __init__(
        self,
        kind: str,
        value: object,
        known: Sequence[str],
        hint: str = "",
        *,
        known_as: str | None = None,
    ) -> None:
        self.kind = kind
        self.value = value
        self.known = tuple(known)
        self.hint = hint
        label = known_as if known_as is not None else f"{kind}s"
        text = (
            f"No application configured for {kind} {value!r}. "
            f"Known {label}: {describe_known(self.known)}."
        )
        super().__init__(f"{text} {hint}" if hint else text)


class RoutingConfigError(CallboardError, TypeError, ValueError):
    """A routing table is wrong, or a router is mounted where it cannot work.

    Raised when a router is built (a consumer class where
    ``Consumer.as_asgi()`` belongs, an entry that is not a route) or, for a
    router mounted under the wrong scope type, on its first call. It is both
    a ``TypeError`` (usually the wrong kind of object was passed) and a
    ``ValueError`` (what Channels raises for routing mistakes).

    Attributes:
        where: the router entry or call at fault.
        problem: what is wrong with it and what to do.
    """

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")
