"""Mailbox totals: every mailbox's counters added up, the ended ones' kept.

A mailbox's counters end with it. The registry folds the final counts of
each mailbox it unregisters into a :class:`MailboxTally`, so a runtime-wide
figure (``Runtime.statistics().mailboxes``, the metrics endpoint, the
shutdown ledger) still counts what ended connections received and lost.
The sum over live mailboxes is taken only when someone asks: nothing here
runs per message.

Not here: the per-mailbox counters (``_mailbox``).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from ._mailbox import Mailbox, MailboxStatistics

__all__ = ["UNDELIVERED_REASONS", "MailboxTally", "MailboxTotals"]

UNDELIVERED_REASONS = (
    "dropped_newest",
    "dropped_oldest",
    "rejected",
    "overflowed",
    "expired",
    "discarded",
)
"""Why a message offered to a mailbox was never received, as the counters name it."""


@attrs.frozen(kw_only=True)
class MailboxTotals:
    """Counters added up over many mailboxes: the live ones and those that ended.

    The mailbox invariant holds for the sum:
    ``sent == received + depth + sum(undelivered_by_reason.values())``.

    Attributes:
        live: mailboxes registered now.
        ended: mailboxes unregistered so far (their counts are included).
        depth: messages queued now, over every live mailbox.
        max_depth: the deepest live mailbox's depth.
        peak_depth: the highest depth any mailbox, live or ended, ever reached.
        sent: messages offered.
        received: messages taken by their owners (delivered).
        dropped_newest: refused by a full ``drop_newest`` mailbox.
        dropped_oldest: evicted from a full ``drop_oldest`` mailbox.
        rejected: refused by a full ``reject`` mailbox.
        overflowed: refused by a full ``disconnect`` mailbox.
        expired: outlived their deadline unread.
        discarded: still queued when their mailbox was closed or cleared.
    """

    live: int
    ended: int
    depth: int
    max_depth: int
    peak_depth: int
    sent: int
    received: int
    dropped_newest: int
    dropped_oldest: int
    rejected: int
    overflowed: int
    expired: int
    discarded: int

    @property
    def undelivered_by_reason(self) -> dict[str, int]:
        """Messages never received, by reason (every reason listed)."""
        return {reason: getattr(self, reason) for reason in UNDELIVERED_REASONS}

    @property
    def undelivered(self) -> int:
        """Messages offered that will never be received."""
        return sum(self.undelivered_by_reason.values())


@attrs.define(eq=False)
class MailboxTally:
    """The folded counts of ended mailboxes (one per registry)."""

    ended: int = 0
    peak_depth: int = 0
    sent: int = 0
    received: int = 0
    dropped_newest: int = 0
    dropped_oldest: int = 0
    rejected: int = 0
    overflowed: int = 0
    expired: int = 0
    discarded: int = 0

    def fold(self, stats: MailboxStatistics) -> None:
        """Add the final counts of a mailbox that is going away."""
        self.ended += 1
        self.peak_depth = max(self.peak_depth, stats.peak_depth)
        self.sent += stats.sent
        self.received += stats.received
        self.dropped_newest += stats.dropped_newest
        self.dropped_oldest += stats.dropped_oldest
        self.rejected += stats.rejected
        self.overflowed += stats.overflowed
        self.expired += stats.expired
        self.discarded += stats.discarded

    def totals(self, live: Iterable[Mailbox]) -> MailboxTotals:
        """Return these folded counts plus the current counts of ``live`` mailboxes."""
        counts = attrs.asdict(self)
        count = depth = max_depth = 0
        for mailbox in live:
            stats = mailbox.statistics()
            count += 1
            depth += stats.depth
            max_depth = max(max_depth, stats.depth)
            counts["peak_depth"] = max(counts["peak_depth"], stats.peak_depth)
            counts["sent"] += stats.sent
            counts["received"] += stats.received
            for reason in UNDELIVERED_REASONS:
                counts[reason] += getattr(stats, reason)
        return MailboxTotals(live=count, depth=depth, max_depth=max_depth, **counts)
