"""Mailbox: the bounded queue an actor receives from, with a named overflow policy.

Every mailbox has a capacity. When it is full, its policy decides what happens
to the next message: ``drop_newest`` (the new message is not queued; Channels'
behaviour for group messages), ``drop_oldest`` (the oldest queued message makes
room), ``reject`` (the sender gets :class:`~callboard.exceptions.ChannelFull`)
or ``disconnect`` (the new message is not queued and the owner is told to
close). A message may carry a deadline; one still queued at its deadline is
expired instead of delivered. Every message that is not delivered is counted
in :meth:`Mailbox.statistics` and logged at a bounded rate: nothing is lost
silently.

Not here: who owns a mailbox (``_actor``) and how addresses reach it (``_registry``).
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Final

import anyio
import attrs
from anyio.lowlevel import cancel_shielded_checkpoint, checkpoint_if_cancelled

from callboard.exceptions import ChannelFull

from ._ratelog import RateLimitedLog

__all__ = [
    "DEFAULT_CAPACITY",
    "Mailbox",
    "MailboxStatistics",
    "OverflowPolicy",
    "Overflowed",
    "open_mailbox",
]

DEFAULT_CAPACITY: Final = 100
"""Channels' default channel capacity."""

logger = logging.getLogger("callboard.mailbox")
_ratelog = RateLimitedLog(logger)


class OverflowPolicy(enum.Enum):
    """What a full mailbox does with the next message."""

    DROP_NEWEST = "drop_newest"
    """The new message is not queued (counted). Channels' behaviour."""
    DROP_OLDEST = "drop_oldest"
    """The oldest queued message is evicted (counted) to make room."""
    REJECT = "reject"
    """The new message is not queued and a point-to-point sender gets ``ChannelFull``."""
    DISCONNECT = "disconnect"
    """The new message is not queued and the owner receives :class:`Overflowed`
    so it can close (a WebSocket consumer closes with 1013)."""

    @classmethod
    def coerce(cls, value: OverflowPolicy | str) -> OverflowPolicy:
        """Accept a policy or its string value; raise ``ValueError`` naming the valid ones."""
        if isinstance(value, OverflowPolicy):
            return value
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(repr(p.value) for p in cls)
            raise ValueError(f"Unknown overflow policy {value!r}; use one of {valid}.") from None


@attrs.frozen(kw_only=True)
class Overflowed:
    """Signal to a ``disconnect``-policy owner: its mailbox overflowed; close now.

    Attributes:
        address: the mailbox's name.
        capacity: its capacity.
    """

    address: str
    capacity: int


@attrs.frozen(kw_only=True)
class MailboxStatistics:
    """A snapshot of one mailbox's counters.

    Every message offered is accounted for exactly once:
    ``sent == received + depth + dropped_newest + dropped_oldest + rejected
    + overflowed + expired + discarded``.
    """

    name: str
    capacity: int
    policy: OverflowPolicy
    depth: int
    peak_depth: int
    sent: int
    received: int
    dropped_newest: int
    dropped_oldest: int
    rejected: int
    overflowed: int
    expired: int
    discarded: int
    waiting_receivers: int
    waiting_senders: int
    closed: bool

    @property
    def undelivered(self) -> int:
        """Messages that were offered but will never be received."""
        return (
            self.dropped_newest
            + self.dropped_oldest
            + self.rejected
            + self.overflowed
            + self.expired
            + self.discarded
        )


def _check_capacity(capacity: int) -> int:
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
        raise ValueError(f"Mailbox capacity must be a positive int, got {capacity!r}.")
    return capacity


def _coerce(policy: OverflowPolicy | str) -> OverflowPolicy:
    return OverflowPolicy.coerce(policy)


@attrs.define(eq=False, on_setattr=attrs.setters.NO_OP)  # counters change per message
class Mailbox:
    """A bounded queue of messages for one actor (or one layer channel).

    Senders call :meth:`send_nowait` (never blocks; applies the policy when
    full) or :meth:`send` (waits for room, Trio's backpressure). The owner
    calls :meth:`receive` (Trio's semantics: a checkpoint, waits when empty),
    :meth:`receive_nowait`, or drains with :meth:`wait_nonempty` +
    :meth:`receive_nowait` to take a batch in one wake-up.

    Several receivers may wait on one mailbox (a layer channel with two
    ``receive()`` callers); each message goes to exactly one of them and a
    wake-up is never lost.

    Build one with :func:`open_mailbox` or let the registry build it.

    Lifetime: :meth:`close` stops new messages; what is queued can still be
    received, then :meth:`receive` raises :class:`anyio.EndOfStream`.
    :meth:`discard` drops (and counts) whatever is left.
    """

    _name: str
    _capacity: int = attrs.field(default=DEFAULT_CAPACITY, converter=_check_capacity)
    _policy: OverflowPolicy = attrs.field(default=OverflowPolicy.DROP_NEWEST, converter=_coerce)
    _queue: deque[tuple[float | None, Any]] = attrs.field(factory=deque, init=False)
    _not_empty: anyio.Event | None = attrs.field(default=None, init=False)
    _not_full: anyio.Event | None = attrs.field(default=None, init=False)
    _receivers: int = attrs.field(default=0, init=False)
    _senders: int = attrs.field(default=0, init=False)
    _closed: bool = attrs.field(default=False, init=False)
    _signals: list[object] | None = attrs.field(default=None, init=False)
    _overflow_fired: bool = attrs.field(default=False, init=False)
    _peak: int = attrs.field(default=0, init=False)
    _sent: int = attrs.field(default=0, init=False)
    _received: int = attrs.field(default=0, init=False)
    _dropped_newest: int = attrs.field(default=0, init=False)
    _dropped_oldest: int = attrs.field(default=0, init=False)
    _rejected: int = attrs.field(default=0, init=False)
    _overflowed: int = attrs.field(default=0, init=False)
    _expired: int = attrs.field(default=0, init=False)
    _discarded: int = attrs.field(default=0, init=False)

    # -- properties ------------------------------------------------------------

    @property
    def name(self) -> str:
        """The address this mailbox serves."""
        return self._name

    @property
    def capacity(self) -> int:
        """How many messages it holds before its policy applies."""
        return self._capacity

    @property
    def policy(self) -> OverflowPolicy:
        """What it does when full."""
        return self._policy

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __len__(self) -> int:
        return len(self._queue)

    # -- sending ---------------------------------------------------------------

    def send_nowait(self, message: Any, *, deadline: float | None = None) -> bool:
        """Queue ``message`` without blocking, applying the policy when full.

        Args:
            message: what to deliver (a Channels-shaped dict, or a runtime signal).
            deadline: the time on the event loop's clock (``anyio.current_time()``)
                after which the message expires instead of being delivered;
                ``None`` for never.

        Returns:
            ``True`` if the message was queued, ``False`` if the policy
            dropped it (counted and logged).

        Raises:
            ChannelFull: the mailbox is full and its policy is ``reject``.
            anyio.BrokenResourceError: the mailbox was closed.
        """
        if self._closed:
            raise anyio.BrokenResourceError(f"mailbox {self._name!r} is closed")
        self._sent += 1
        queue = self._queue
        if len(queue) >= self._capacity and not self._make_room() and not self._overflow():
            return False
        queue.append((deadline, message))
        depth = len(queue)
        if depth > self._peak:
            self._peak = depth
        event = self._not_empty
        if event is not None:
            self._not_empty = None
            event.set()
        return True

    async def send(self, message: Any, *, deadline: float | None = None) -> None:
        """Queue ``message``, waiting while the mailbox is full (backpressure).

        The policy does not apply: this waits for room instead.

        Args:
            message: what to deliver.
            deadline: as for :meth:`send_nowait`.

        Raises:
            anyio.BrokenResourceError: the mailbox was closed before or while waiting.

        Cancellation: if cancelled while waiting, the message was not queued.
        """
        await checkpoint_if_cancelled()
        while len(self._queue) >= self._capacity and not self._closed:
            if not self._make_room():
                if self._not_full is None:
                    self._not_full = anyio.Event()
                event = self._not_full
                self._senders += 1
                try:
                    await event.wait()
                finally:
                    self._senders -= 1
        self.send_nowait(message, deadline=deadline)
        await cancel_shielded_checkpoint()

    def _make_room(self) -> bool:
        """Expire overdue messages from the front; return whether there is room now."""
        queue = self._queue
        if not queue or queue[0][0] is None:
            return False
        now = anyio.current_time()
        before = len(queue)
        while queue and (d := queue[0][0]) is not None and d <= now:
            queue.popleft()
        if len(queue) < before:
            self._expired += before - len(queue)
            self._log_drop("expired", "expired (a message outlived its expiry unread)")
            self._wake_senders()
        return len(queue) < self._capacity

    def _overflow(self) -> bool:
        """Apply the policy to a full mailbox; return whether to queue the new message."""
        policy = self._policy
        if policy is OverflowPolicy.DROP_OLDEST:
            self._dropped_oldest += 1
            self._log_drop("dropped_oldest", "evicted its oldest message (policy drop_oldest)")
            self._queue.popleft()  # after logging, so the log shows the full depth
            return True
        if policy is OverflowPolicy.REJECT:
            self._rejected += 1
            self._log_drop("rejected", "rejected a message (policy reject)")
            raise ChannelFull(self._name, self._capacity)
        if policy is OverflowPolicy.DISCONNECT:
            self._overflowed += 1
            if not self._overflow_fired:
                self._overflow_fired = True
                self.signal_nowait(Overflowed(address=self._name, capacity=self._capacity))
            self._log_drop(
                "overflowed", "overflowed; its owner is told to close (policy disconnect)"
            )
            return False
        self._dropped_newest += 1
        self._log_drop("dropped_newest", "dropped a new message (policy drop_newest)")
        return False

    def _wake_senders(self) -> None:
        """Wake every task waiting in :meth:`send`: expiring messages made room."""
        event = self._not_full
        if event is not None:
            self._not_full = None
            event.set()

    def _log_drop(self, reason: str, what: str) -> None:
        # One record per reason per interval for the whole process, whatever the
        # number of mailboxes: a flood across 10,000 connections is one line
        # with a count. Messages left when a connection ends are routine (INFO);
        # everything else means a reader is not keeping up (WARNING).
        _ratelog.log(
            logging.INFO if reason == "discarded" else logging.WARNING,
            reason,
            "Mailbox %r (capacity %d, depth %d) %s.",
            self._name,
            self._capacity,
            len(self._queue),
            what,
        )

    def signal_nowait(self, signal: object) -> None:
        """Put a runtime signal (not a message) ahead of the queued messages.

        Signals bypass the capacity and the policy and are not counted as
        messages: they are how the runtime talks to the owner (overflow,
        shutdown). A closed mailbox ignores them.
        """
        if self._closed:
            return
        if self._signals is None:
            self._signals = [signal]
        else:
            self._signals.append(signal)
        event = self._not_empty
        if event is not None:
            self._not_empty = None
            event.set()

    # -- receiving -------------------------------------------------------------

    def receive_nowait(self) -> Any:
        """Take the next message without blocking.

        Returns:
            The oldest unexpired message, or an :class:`Overflowed` signal (once)
            when a ``disconnect``-policy mailbox overflowed.

        Raises:
            anyio.WouldBlock: nothing is queued.
            anyio.EndOfStream: the mailbox is closed and empty.
        """
        signals = self._signals
        if signals:
            return signals.pop(0)
        queue = self._queue
        while queue:
            deadline, message = queue.popleft()
            if deadline is not None and deadline <= anyio.current_time():
                self._expired += 1
                self._log_drop("expired", "expired (a message outlived its expiry unread)")
                # Expiring made room: a sender waiting in send() must hear of it,
                # or one blocked behind only expired messages waits forever.
                self._wake_senders()
                continue
            self._received += 1
            event = self._not_full
            if event is not None:
                self._not_full = None
                event.set()
            return message
        if self._closed:
            raise anyio.EndOfStream
        raise anyio.WouldBlock

    async def wait_nonempty(self) -> None:
        """Wait until a message (or a signal) is queued, or the mailbox is closed.

        Returns at once, without a checkpoint, when there already is one: the
        owner's loop drains a batch per wake-up with :meth:`receive_nowait`.
        """
        while not self._queue and not self._signals and not self._closed:
            if self._not_empty is None:
                self._not_empty = anyio.Event()
            event = self._not_empty
            self._receivers += 1
            try:
                await event.wait()
            finally:
                self._receivers -= 1

    async def receive(self) -> Any:
        """Take the next message, waiting while there is none.

        Returns:
            As :meth:`receive_nowait`.

        Raises:
            anyio.EndOfStream: the mailbox is closed and empty.

        Cancellation: if cancelled, no message was taken.
        """
        await checkpoint_if_cancelled()
        while True:
            try:
                message = self.receive_nowait()
            except anyio.WouldBlock:
                await self.wait_nonempty()
                continue
            await cancel_shielded_checkpoint()
            return message

    # -- lifetime --------------------------------------------------------------

    def close(self) -> None:
        """Stop accepting messages; wake every waiting receiver and sender.

        Queued messages stay receivable; then :meth:`receive` raises
        :class:`anyio.EndOfStream`. Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        for attr in ("_not_empty", "_not_full"):
            event = getattr(self, attr)
            if event is not None:
                setattr(self, attr, None)
                event.set()

    def take_while_nowait(self, predicate: Callable[[Any], bool]) -> int:
        """Receive queued messages from the front while ``predicate`` holds; return how many.

        For an owner that ends on purpose and has nothing to do with what
        remains of a known kind (a connection's own disconnect event): those
        are received, not discarded.
        """
        queue = self._queue
        taken = 0
        while queue and predicate(queue[0][1]):
            queue.popleft()
            taken += 1
        self._received += taken
        return taken

    def clear(self) -> int:
        """Drop and count every queued message, leaving the mailbox open; return how many."""
        count = len(self._queue)
        if count:
            self._queue.clear()
            self._discarded += count
            self._log_drop("discarded", f"discarded {count} undelivered message(s)")
            event = self._not_full
            if event is not None:
                self._not_full = None
                event.set()
        return count

    def discard(self) -> int:
        """Close, then drop and count every queued message; return how many."""
        self.close()
        self._signals = None
        return self.clear()

    def statistics(self) -> MailboxStatistics:
        """Return a snapshot of the counters."""
        return MailboxStatistics(
            name=self._name,
            capacity=self._capacity,
            policy=self._policy,
            depth=len(self._queue),
            peak_depth=self._peak,
            sent=self._sent,
            received=self._received,
            dropped_newest=self._dropped_newest,
            dropped_oldest=self._dropped_oldest,
            rejected=self._rejected,
            overflowed=self._overflowed,
            expired=self._expired,
            discarded=self._discarded,
            waiting_receivers=self._receivers,
            waiting_senders=self._senders,
            closed=self._closed,
        )


def open_mailbox(
    name: str,
    *,
    capacity: int = DEFAULT_CAPACITY,
    policy: OverflowPolicy | str = OverflowPolicy.DROP_NEWEST,
) -> Mailbox:
    """Create a standalone mailbox (the registry creates the ones it routes to).

    Args:
        name: the address it serves (used in statistics and logs).
        capacity: how many messages it holds before the policy applies.
        policy: an :class:`OverflowPolicy` or its string value.

    Raises:
        ValueError: a non-positive capacity or an unknown policy.
    """
    return Mailbox(name, capacity, OverflowPolicy.coerce(policy))
