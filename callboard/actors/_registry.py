"""Registry: which mailbox serves an address, and which addresses form a group.

Delivery inside one process is a direct put into the receiving mailbox: no
serialization, one isolation copy per receiver (see ``_isolation``). A group
is an insertion-ordered mapping of member address to :class:`Membership`
(join time and optional metadata); members older than ``group_expiry`` are
dropped the next time the group is used, as in Channels.

A member that joined with metadata is *present* (``_presence``): its joining
and its leaving, however it leaves (discarded, its actor ended, expired), are
announced to the group's watchers as ``callboard.presence`` messages. The
final counts of every unregistered mailbox are folded into the registry's
totals, so what ended actors received and lost stays counted.

Not here: the channel-layer API around it (``callboard.layers``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import anyio
import attrs

from callboard.exceptions import ChannelFull

from ._address import forget_channel_name, require_valid_channel_name, require_valid_group_name
from ._isolation import copier_for
from ._mailbox import DEFAULT_CAPACITY, Mailbox, OverflowPolicy
from ._presence import PresenceMember, presence_event, presence_events_group, wall_time
from ._ratelog import RateLimitedLog
from ._totals import MailboxTally, MailboxTotals

__all__ = ["Membership", "Registry", "RegistryStatistics"]

logger = logging.getLogger("callboard.registry")
_ratelog = RateLimitedLog(logger)

DEFAULT_GROUP_EXPIRY = 86_400.0
"""Channels' default: a membership lasts a day unless renewed or discarded."""


@attrs.frozen(kw_only=True)
class Membership:
    """One address's membership of one group.

    Attributes:
        address: the member.
        joined_at: when it joined (or last re-joined), on the event loop's clock.
        metadata: what the member said about itself when joining, or ``None``;
            a member with metadata (``{}`` included) is present (see :meth:`Registry.presence`).
    """

    address: str
    joined_at: float
    metadata: Mapping[str, Any] | None = None

    def presence(self) -> PresenceMember:
        """Return this membership as a :class:`PresenceMember` (``joined_at`` in Unix time).

        Raises:
            ValueError: the member joined without metadata, so it is not present.
        """
        if self.metadata is None:
            raise ValueError(f"{self.address!r} joined without metadata: it is not present.")
        return PresenceMember(
            address=self.address, metadata=self.metadata, joined_at=wall_time(self.joined_at)
        )


@attrs.frozen(kw_only=True)
class RegistryStatistics:
    """A snapshot of a registry's contents and counters."""

    mailboxes: int
    groups: int
    memberships: int
    sends: int
    group_sends: int
    group_deliveries: int
    no_receiver: int
    expired_memberships: int


@attrs.define(eq=False)
class Registry:
    """Addresses to mailboxes and groups to members, for one event loop.

    Every method is synchronous and never blocks: local delivery is a put.
    Get the running loop's registry with :func:`callboard.actors.current_registry`.

    Args:
        group_expiry: seconds after which a membership lapses unless renewed.
    """

    group_expiry: float = DEFAULT_GROUP_EXPIRY
    _mailboxes: dict[str, Mailbox] = attrs.field(factory=dict, init=False)
    _groups: dict[str, dict[str, Membership]] = attrs.field(factory=dict, init=False)
    _member_of: dict[str, set[str]] = attrs.field(factory=dict, init=False)
    _sends: int = attrs.field(default=0, init=False)
    _group_sends: int = attrs.field(default=0, init=False)
    _group_deliveries: int = attrs.field(default=0, init=False)
    _no_receiver: int = attrs.field(default=0, init=False)
    _expired_memberships: int = attrs.field(default=0, init=False)
    _tally: MailboxTally = attrs.field(factory=MailboxTally, init=False)

    # -- mailboxes -------------------------------------------------------------

    def register(
        self,
        address: str,
        *,
        capacity: int = DEFAULT_CAPACITY,
        policy: OverflowPolicy | str = OverflowPolicy.DROP_NEWEST,
    ) -> Mailbox:
        """Create and register the mailbox for a new address.

        Raises:
            InvalidNameError: the address breaks the naming rules.
            KeyError: the address is already registered.
        """
        require_valid_channel_name(address)
        if address in self._mailboxes:
            raise KeyError(f"Address {address!r} is already registered.")
        mailbox = Mailbox(address, capacity, OverflowPolicy.coerce(policy))
        self._mailboxes[address] = mailbox
        return mailbox

    def ensure(
        self,
        address: str,
        *,
        capacity: int = DEFAULT_CAPACITY,
        policy: OverflowPolicy | str = OverflowPolicy.DROP_NEWEST,
    ) -> Mailbox:
        """Return the mailbox at ``address``, creating it if there is none."""
        mailbox = self._mailboxes.get(address)
        if mailbox is None:
            mailbox = self.register(address, capacity=capacity, policy=policy)
        return mailbox

    def unregister(self, address: str) -> int:
        """Remove an address: leave every group, close and discard its mailbox.

        Returns:
            How many queued messages were discarded (counted on the mailbox,
            whose final counts join :meth:`mailbox_totals`).
        """
        self.leave_all(address)
        mailbox = self._mailboxes.pop(address, None)
        if mailbox is None:
            return 0
        forget_channel_name(address)  # addresses are not reused: keep the name cache to live ones
        discarded = mailbox.discard()
        self._tally.fold(mailbox.statistics())
        return discarded

    def lookup(self, address: str) -> Mailbox | None:
        """Return the mailbox serving ``address``, or ``None``."""
        return self._mailboxes.get(address)

    def __contains__(self, address: object) -> bool:
        return address in self._mailboxes

    def addresses(self) -> list[str]:
        """Return every registered address."""
        return list(self._mailboxes)

    def send_nowait(
        self, address: str, message: dict[str, Any], *, deadline: float | None = None
    ) -> bool:
        """Put an isolated copy of ``message`` into the mailbox at ``address``.

        Returns:
            Whether it was queued. ``False`` when nobody is registered at the
            address (counted as ``no_receiver``) or the mailbox's policy
            dropped it (counted on the mailbox).

        Raises:
            ChannelFull: the mailbox is full and its policy is ``reject``.
        """
        self._sends += 1
        mailbox = self._mailboxes.get(address)
        if mailbox is None or mailbox.closed:
            self._count_no_receiver(address)
            return False
        return mailbox.send_nowait(copier_for(message)(message), deadline=deadline)

    def _count_no_receiver(self, address: str) -> None:
        self._no_receiver += 1
        _ratelog.log(
            logging.INFO,
            "no_receiver",
            "No mailbox at %r: message not delivered (its actor has ended).",
            address,
        )

    # -- groups ----------------------------------------------------------------

    def group_add(
        self, group: str, address: str, *, metadata: Mapping[str, Any] | None = None
    ) -> None:
        """Add ``address`` to ``group``, or renew its membership (and metadata).

        With ``metadata`` (``{}`` included) the member is present: the group's
        watchers get a ``join`` event, again on every re-join (its metadata
        may have changed). Re-joining without metadata ends its presence (a
        ``leave`` event).
        """
        require_valid_group_name(group)
        require_valid_channel_name(address)
        members = self._groups.get(group)
        previous = None
        if members is None:
            members = self._groups[group] = {}
        else:
            previous = members.pop(address, None)  # re-join moves to the end: join order
        membership = members[address] = Membership(
            address=address, joined_at=anyio.current_time(), metadata=metadata
        )
        groups = self._member_of.get(address)
        if groups is None:
            self._member_of[address] = {group}
        else:
            groups.add(group)
        if metadata is not None:
            self._announce(group, joined=membership)
        elif previous is not None and previous.metadata is not None:
            self._announce(group, left=previous)

    def group_discard(self, group: str, address: str) -> None:
        """Remove ``address`` from ``group``; nothing happens if it is not a member."""
        require_valid_group_name(group)
        require_valid_channel_name(address)
        removed = self._remove_member(group, address)
        if removed is not None and removed.metadata is not None:
            self._announce(group, left=removed)

    def _remove_member(self, group: str, address: str) -> Membership | None:
        members = self._groups.get(group)
        removed = None
        if members is not None:
            removed = members.pop(address, None)
            if removed is not None and not members:
                del self._groups[group]
        groups = self._member_of.get(address)
        if groups is not None:
            groups.discard(group)
            if not groups:
                del self._member_of[address]
        return removed

    def leave_all(self, address: str) -> None:
        """Remove ``address`` from every group it is in (announcing where it was present).

        It leaves every group before any leave event goes out, so it is not
        sent its own.
        """
        left = [
            (group, self._remove_member(group, address))
            for group in tuple(self._member_of.get(address, ()))
        ]
        for group, membership in left:
            if membership is not None and membership.metadata is not None:
                self._announce(group, left=membership)

    def _expire(self, group: str, members: dict[str, Membership]) -> None:
        cutoff = anyio.current_time() - self.group_expiry
        while members:
            first = next(iter(members.values()))
            if first.joined_at >= cutoff:
                return
            self._expired_memberships += 1
            self._remove_member(group, first.address)
            if first.metadata is not None:
                self._announce(group, left=first)

    def _announce(
        self, group: str, *, joined: Membership | None = None, left: Membership | None = None
    ) -> None:
        """Tell ``group``'s watchers that a present member joined or left."""
        watchers = presence_events_group(group)
        if self._groups.get(watchers):
            joins = () if joined is None else (joined.presence(),)
            leaves = () if left is None else (left.presence(),)
            self.group_send_nowait(watchers, presence_event(group, joins=joins, leaves=leaves))

    def members(self, group: str) -> list[Membership]:
        """Return the live memberships of ``group`` in join order."""
        require_valid_group_name(group)
        members = self._groups.get(group)
        if not members:
            return []
        self._expire(group, members)
        return list(members.values())

    def group_size(self, group: str) -> int:
        """Return how many live members ``group`` has."""
        members = self._groups.get(group)
        if not members:
            return 0
        self._expire(group, members)
        return len(members)

    def presence(self, group: str) -> list[PresenceMember]:
        """Return the members present in ``group`` (joined with metadata), in join order."""
        return [m.presence() for m in self.members(group) if m.metadata is not None]

    def group_sizes(self) -> dict[str, int]:
        """Return every group's member count, as last used (lapsed members included)."""
        return {group: len(members) for group, members in self._groups.items()}

    def groups_of(self, address: str) -> frozenset[str]:
        """Return the groups ``address`` belongs to."""
        return frozenset(self._member_of.get(address, ()))

    def group_send_nowait(
        self, group: str, message: dict[str, Any], *, deadline: float | None = None
    ) -> int:
        """Put an isolated copy of ``message`` into every member's mailbox.

        Never raises for a full mailbox: each member's policy applies, and a
        ``reject`` policy counts the message as rejected on that mailbox.

        Returns:
            How many members queued it.
        """
        require_valid_group_name(group)
        self._group_sends += 1
        members = self._groups.get(group)
        if not members:
            return 0
        self._expire(group, members)
        copy = copier_for(message)
        mailboxes = self._mailboxes
        delivered = 0
        for address in members:
            mailbox = mailboxes.get(address)
            if mailbox is None or mailbox.closed:
                self._count_no_receiver(address)
                continue
            try:
                if mailbox.send_nowait(copy(message), deadline=deadline):
                    delivered += 1
            except ChannelFull:  # policy `reject`: counted on the mailbox
                continue
        self._group_deliveries += delivered
        return delivered

    def flush(self) -> None:
        """Discard every mailbox's content and every group (Channels' ``flush``).

        Mailboxes stay registered (their actors keep running); layer-owned ones
        are the layer's to forget.
        """
        for mailbox in self._mailboxes.values():
            mailbox.clear()
        self._groups.clear()
        self._member_of.clear()

    def mailbox_totals(self) -> MailboxTotals:
        """Return every mailbox's counters added up: the live ones and the unregistered ones."""
        return self._tally.totals(self._mailboxes.values())

    def statistics(self) -> RegistryStatistics:
        """Return a snapshot of the registry's size and counters."""
        return RegistryStatistics(
            mailboxes=len(self._mailboxes),
            groups=len(self._groups),
            memberships=sum(len(m) for m in self._groups.values()),
            sends=self._sends,
            group_sends=self._group_sends,
            group_deliveries=self._group_deliveries,
            no_receiver=self._no_receiver,
            expired_memberships=self._expired_memberships,
        )
