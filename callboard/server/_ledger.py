"""The shutdown ledger: what a graceful shutdown delivered and what it did not, in one record.

When the shutdown begins the ledger notes the connections enrolled with the
server's supervisor and the runtime's mailbox totals; when every connection
has ended it notes them again and logs one INFO record (logger
``callboard.server``) with the difference: connections closed with 1001 and
acknowledged by their clients, ended otherwise, cancelled when the grace
ran out; messages delivered, and not delivered by reason. The record
carries the :class:`ShutdownLedger` itself as ``record.ledger``.

Not here: the shutdown itself (``_serve``).
"""

from __future__ import annotations

import logging

import anyio
import attrs

from callboard.actors import MailboxTotals, Runtime, Supervisor
from callboard.actors._totals import UNDELIVERED_REASONS
from callboard.consumers import ConnectionStatistics
from callboard.consumers._stats import connection_counters

__all__ = ["ShutdownLedger", "ShutdownRecorder"]

logger = logging.getLogger("callboard.server")


@attrs.frozen(kw_only=True)
class ShutdownLedger:
    """What one graceful shutdown did.

    Connections add up: ``connections == closed_gracefully + ended_otherwise + cancelled``.
    Messages add up: ``queued + offered == delivered + undelivered + still_queued``.

    Attributes:
        grace: the graceful timeout, seconds.
        duration: how long the shutdown took, from the trigger until every
            connection had ended, seconds.
        connections: connections running when the shutdown began.
        closed_gracefully: WebSockets closed for the shutdown whose clients
            completed the closing handshake (1001 acknowledged; their
            ``disconnect`` ran).
        ended_otherwise: connections that ended within the grace another way
            (the client left first, an HTTP exchange finished, a crash).
        cancelled: connections still running when the grace ran out, cancelled.
        disconnects: WebSocket disconnects handled during the shutdown
            (each ran its consumer's ``disconnect``).
        queued: messages waiting in mailboxes when the shutdown began.
        offered: messages offered to mailboxes during the shutdown.
        delivered: messages actors took from their mailboxes during the shutdown.
        undelivered: messages not delivered during the shutdown, by reason
            (``discarded``: left in the mailbox of a connection that ended;
            ``expired``; ``dropped_newest`` ... by overflow policy).
        still_queued: messages still waiting afterwards (in channels the
            layer owns, for workers).
    """

    grace: float
    duration: float
    connections: int
    closed_gracefully: int
    ended_otherwise: int
    cancelled: int
    disconnects: int
    queued: int
    offered: int
    delivered: int
    undelivered: dict[str, int]
    still_queued: int

    @property
    def undelivered_total(self) -> int:
        """Messages not delivered during the shutdown, every reason together."""
        return sum(self.undelivered.values())

    def describe(self) -> str:
        """Return the ledger as one log line."""
        losses = ", ".join(f"{reason} {count}" for reason, count in self.undelivered.items())
        return (
            f"Shutdown ledger ({self.duration:.2f} s, grace {self.grace:g} s): "
            f"{self.connections} connection(s): {self.closed_gracefully} closed with 1001 "
            f"and acknowledged, {self.ended_otherwise} ended otherwise, {self.cancelled} "
            f"cancelled after the grace; {self.disconnects} disconnect handler(s) ran. "
            f"Messages: {self.queued} queued at the start + {self.offered} offered = "
            f"{self.delivered} delivered + {self.undelivered_total} undelivered ({losses}) "
            f"+ {self.still_queued} still queued."
        )


@attrs.frozen
class _Mark:
    """The figures at one moment of the shutdown."""

    time: float
    enrolled: int
    cancelled: int
    mailboxes: MailboxTotals
    connections: ConnectionStatistics


@attrs.define(eq=False)
class ShutdownRecorder:
    """Notes the figures when a shutdown begins and logs the ledger when it has finished.

    Args:
        runtime: the serving loop's runtime.
        grace: the graceful timeout, seconds.
    """

    _runtime: Runtime
    _grace: float
    _supervisor: Supervisor | None = attrs.field(default=None, init=False)
    _start: _Mark | None = attrs.field(default=None, init=False)

    def _mark(self, supervisor: Supervisor) -> _Mark:
        stats = supervisor.statistics()
        return _Mark(
            time=anyio.current_time(),
            enrolled=stats.enrolled,
            cancelled=stats.cancelled,
            mailboxes=self._runtime.registry.mailbox_totals(),
            connections=connection_counters(self._runtime).snapshot(),
        )

    def begin(self, supervisor: Supervisor) -> None:
        """Note the figures now: ``supervisor`` is about to be told to stop."""
        self._supervisor = supervisor
        self._start = self._mark(supervisor)

    def finish(self) -> ShutdownLedger | None:
        """Log the ledger (INFO) once every connection has ended; return it.

        Returns ``None`` (and logs nothing) when no shutdown began: the server
        was cancelled instead.
        """
        start, supervisor = self._start, self._supervisor
        if start is None or supervisor is None:
            return None
        end = self._mark(supervisor)
        before, after = start.mailboxes, end.mailboxes
        cancelled = end.cancelled - start.cancelled
        gracefully = end.connections.shutdown_acknowledged - start.connections.shutdown_acknowledged
        disconnects = sum(end.connections.websocket_disconnects.values()) - sum(
            start.connections.websocket_disconnects.values()
        )
        ledger = ShutdownLedger(
            grace=self._grace,
            duration=end.time - start.time,
            connections=start.enrolled,
            closed_gracefully=gracefully,
            ended_otherwise=start.enrolled - gracefully - cancelled,
            cancelled=cancelled,
            disconnects=disconnects,
            queued=before.depth,
            offered=after.sent - before.sent,
            delivered=after.received - before.received,
            undelivered={
                reason: getattr(after, reason) - getattr(before, reason)
                for reason in UNDELIVERED_REASONS
            },
            still_queued=after.depth,
        )
        logger.info("%s", ledger.describe(), extra={"ledger": ledger})
        return ledger
