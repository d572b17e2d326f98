"""Presence for consumers: join groups as a present member, watch who comes and goes.

A consumer becomes present in a group with :meth:`ConsumerPresence.join_presence`
(or by listing it in ``presence_groups``), with metadata from
:meth:`ConsumerPresence.presence_metadata`; however the connection ends, it
leaves and its watchers hear of it. A watcher (``presence_events = True``,
or :meth:`ConsumerPresence.watch_presence`) gets the group's changes as
ordinary messages, handled one at a time like any other:

- ``{"type": "presence.join", "group": g, "member": {...}}``
- ``{"type": "presence.leave", "group": g, "member": {...}}``
- ``{"type": "presence.diff", "group": g, "joins": [...], "leaves": [...]}``

A member is ``{"address", "metadata", "joined_at"}``. The first change after
a quiet spell is delivered at once; changes within ``presence_batch_interval``
after it are merged into one ``presence.diff`` per group (net: a member who
came and went inside the window is in neither list), so a burst of churn
costs the handler and the client one message, not hundreds.

Not here: where presence is kept (the channel layer: ``callboard.layers``).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import anyio
import attrs

from callboard.actors import Mailbox
from callboard.layers import ChannelLayer, PresenceLayer

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["ConsumerPresence", "PresenceFlush"]

DEFAULT_BATCH_INTERVAL = 0.5
"""Seconds after a delivered change during which further changes are merged into a diff."""


@attrs.frozen
class PresenceFlush:
    """Signal to a consumer: its presence batching window ended; deliver the diffs."""


@attrs.define(eq=False)
class _Diff:
    """The net change of one group within one window: members by address."""

    joins: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    leaves: dict[str, dict[str, Any]] = attrs.field(factory=dict)

    def merge(self, joins: Sequence[dict[str, Any]], leaves: Sequence[dict[str, Any]]) -> None:
        for member in leaves:  # leaves first: a re-join is a leave, then a join
            address = member["address"]
            if self.joins.pop(address, None) is None or address in self.leaves:
                self.leaves.setdefault(address, member)
        for member in joins:
            self.joins[member["address"]] = member


@attrs.define(eq=False)
class _Batcher:
    """One consumer's presence window: what waits to be delivered, and until when."""

    interval: float
    quiet_until: float = -math.inf
    pending: dict[str, _Diff] = attrs.field(factory=dict)
    flush_scheduled: bool = False


def _event(group: str, joins: Sequence[Any], leaves: Sequence[Any], single: bool) -> dict[str, Any]:
    if single and len(joins) == 1 and not leaves:
        return {"type": "presence.join", "group": group, "member": joins[0]}
    if single and len(leaves) == 1 and not joins:
        return {"type": "presence.leave", "group": group, "member": leaves[0]}
    return {"type": "presence.diff", "group": group, "joins": list(joins), "leaves": list(leaves)}


class ConsumerPresence:
    """Presence for a consumer: join groups as present, watch their joins and leaves.

    Mixed into :class:`~callboard.consumers.AsyncConsumer`; every consumer has it.

    Class attributes:
        presence_groups: groups a WebSocket consumer joins as present when it
            accepts the connection, just before the accept goes out (metadata
            from :meth:`presence_metadata`).
        presence_events: whether joining a group also watches it.
        presence_batch_interval: seconds after a delivered change during which
            further changes are merged into one ``presence.diff`` (0: every
            change is delivered on its own).
    """

    presence_groups: ClassVar[Sequence[str]] = ()
    presence_events: ClassVar[bool] = False
    presence_batch_interval: ClassVar[float] = DEFAULT_BATCH_INTERVAL

    # Provided by AsyncConsumer.
    channel_layer: ChannelLayer | None
    channel_name: str
    mailbox: Mailbox | None
    _task_group: anyio.abc.TaskGroup | None

    if TYPE_CHECKING:

        async def dispatch(self, message: dict[str, Any]) -> None: ...

        def spawn(self, function: Callable[..., Awaitable[Any]], *args: Any) -> None: ...

    _presence_joined: tuple[str, ...] = ()
    _presence_watching: tuple[str, ...] = ()
    _presence_batcher: _Batcher | None = None

    # -- joining and watching -----------------------------------------------------------

    async def presence_metadata(self, group: str) -> Mapping[str, Any]:
        """Return what this connection says about itself in ``group``; override it.

        Called by :meth:`join_presence` without metadata (and so for
        ``presence_groups``). The default says nothing (``{}``). Keep it small
        and serializable (str, numbers, lists, dicts): it travels to every
        watcher, across processes with the Redis layer.
        """
        return {}

    def _presence_layer(self) -> PresenceLayer:
        layer = self.channel_layer
        if not isinstance(layer, PresenceLayer) or "presence" not in layer.extensions:
            raise TypeError(
                f"{type(self).__qualname__}: the channel layer {type(layer).__name__} does not "
                "support presence (its extensions lack 'presence'); use the in-memory layer or "
                "RedisChannelLayer."
            )
        return layer

    async def join_presence(
        self,
        group: str,
        metadata: Mapping[str, Any] | None = None,
        *,
        events: bool | None = None,
    ) -> None:
        """Join ``group`` as a present member; it leaves when the connection ends.

        Joining again replaces the metadata (watchers see a join again).

        Args:
            group: the group.
            metadata: what to say about this connection; by default
                :meth:`presence_metadata`'s answer.
            events: also watch the group (its joins and leaves, this one's
                included); ``presence_events`` by default.

        Raises:
            TypeError: the layer has no presence, or watching needs a handler
                the class lacks.
        """
        layer = self._presence_layer()
        if metadata is None:
            found = self.presence_metadata(group)
            metadata = await found if inspect.isawaitable(found) else found
        if self.presence_events if events is None else events:
            await self.watch_presence(group)
        if group not in self._presence_joined:
            self._presence_joined += (group,)  # first: a failed join still leaves
        await layer.group_add(group, self.channel_name, metadata=metadata)

    async def leave_presence(self, group: str) -> None:
        """Leave ``group`` (announced to its watchers) and stop watching it."""
        layer = self._presence_layer()
        if group in self._presence_watching:
            await self.unwatch_presence(group)
        self._presence_joined = tuple(g for g in self._presence_joined if g != group)
        await layer.group_discard(group, self.channel_name)

    async def watch_presence(self, group: str) -> None:
        """Receive ``group``'s joins and leaves as ``presence.*`` messages from now on.

        Define ``presence_diff`` (and, to get single changes on their own,
        ``presence_join`` / ``presence_leave``; without them a single change
        arrives as a one-member diff). Ask the layer for the current members
        (``await self.channel_layer.presence(group)``) after watching, and
        treat each join as an upsert by address: nothing is missed then.

        Raises:
            TypeError: the layer has no presence, or the class defines no ``presence_diff``.
        """
        layer = self._presence_layer()
        if not callable(getattr(type(self), "presence_diff", None)):
            raise TypeError(
                f"{type(self).__qualname__} watches presence but defines no presence_diff: "
                "define presence_diff(self, event) (and optionally presence_join and "
                "presence_leave) to receive the group's joins and leaves."
            )
        if group not in self._presence_watching:
            self._presence_watching += (group,)
        await layer.presence_watch(group, self.channel_name)

    async def unwatch_presence(self, group: str) -> None:
        """Stop receiving ``group``'s joins and leaves."""
        layer = self._presence_layer()
        self._presence_watching = tuple(g for g in self._presence_watching if g != group)
        await layer.presence_unwatch(group, self.channel_name)

    async def _release_presence(self) -> None:
        """Stop watching, then leave every group this connection is present in."""
        watching, joined = self._presence_watching, self._presence_joined
        self._presence_watching = self._presence_joined = ()
        layer = self.channel_layer
        if not isinstance(layer, PresenceLayer):
            return
        for group in watching:
            await layer.presence_unwatch(group, self.channel_name)
        for group in joined:
            await layer.group_discard(group, self.channel_name)

    # -- receiving changes ----------------------------------------------------------------

    async def callboard_presence(self, message: dict[str, Any]) -> None:
        """Handle a presence change from the layer (``callboard.presence``).

        Delivered at once after a quiet spell, otherwise merged into the
        window's diff, delivered when the window ends (a ``PresenceFlush`` signal).
        """
        batcher = self._presence_batcher
        if batcher is None:
            batcher = self._presence_batcher = _Batcher(self.presence_batch_interval)
        group, joins, leaves = message["group"], message["joins"], message["leaves"]
        now = anyio.current_time()
        quiet = not batcher.pending and now >= batcher.quiet_until
        if quiet or self._task_group is None:  # no task to end a window: never batch
            batcher.quiet_until = now + batcher.interval
            await self._deliver_presence(_event(group, joins, leaves, single=True))
            return
        batcher.pending.setdefault(group, _Diff()).merge(joins, leaves)
        if not batcher.flush_scheduled:
            batcher.flush_scheduled = True
            self.spawn(self._flush_later, batcher.quiet_until)

    async def _flush_later(self, deadline: float) -> None:
        await anyio.sleep_until(deadline)
        if self.mailbox is not None:
            self.mailbox.signal_nowait(PresenceFlush())

    async def flush_presence(self) -> None:
        """Deliver the merged changes now, one ``presence.diff`` per group (the window's end)."""
        batcher = self._presence_batcher
        if batcher is None:
            return
        pending, batcher.pending = batcher.pending, {}
        batcher.flush_scheduled = False
        batcher.quiet_until = anyio.current_time() + batcher.interval
        for group, diff in pending.items():
            if diff.joins or diff.leaves:
                event = _event(group, list(diff.joins.values()), list(diff.leaves.values()), False)
                await self._deliver_presence(event)

    async def _deliver_presence(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind != "presence.diff" and not callable(
            getattr(type(self), kind.replace(".", "_"), None)
        ):
            member = [event["member"]]
            joined = kind == "presence.join"
            event = _event(
                event["group"], member if joined else [], [] if joined else member, False
            )
        await self.dispatch(event)
