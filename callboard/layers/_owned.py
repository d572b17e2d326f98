"""Layer-owned channels: the mailboxes the in-memory layer creates and forgets, per event loop.

A general name (no ``!``), or a name from ``new_channel()``, gets a mailbox in
the loop's registry on demand, with the ``reject`` policy; a drained general
channel that nobody waits on and that is in no group is removed again. The
counts of a removed mailbox are kept, so nothing it refused, expired or
discarded goes uncounted.

Not here: the layer API around it (``_inmemory``).
"""

from __future__ import annotations

import attrs

from callboard.actors import (
    Mailbox,
    OverflowPolicy,
    Registry,
    RegistryStatistics,
    current_runtime,
)

from ._config import LayerConfig

__all__ = ["InMemoryLayerStatistics", "OwnedChannels", "owned_channels"]

_STATE_KEY = "callboard.layers.inmemory"


@attrs.frozen(kw_only=True)
class InMemoryLayerStatistics:
    """A snapshot of the in-memory layer in the running event loop.

    The counts are per event loop and shared by every
    :class:`~callboard.layers.InMemoryChannelLayer` in it: they are all views of the loop's one
    registry. ``rejected``, ``expired`` and ``discarded`` cover the channels
    the layer owns, including ones since removed; an actor's mailbox counts
    its own. For layer-owned channels every message is accounted for:
    what was sent is received, queued, rejected, expired or discarded.

    Attributes:
        registry: the registry's own snapshot (mailboxes, groups, ``no_receiver`` ...).
        channels: layer-owned channels now (general names and ``new_channel()`` names).
        channels_created: layer-owned channels created so far.
        channels_removed: layer-owned channels removed (drained, or by ``flush()``).
        queued: messages waiting in layer-owned channels.
        sends: ``send()`` calls with a valid channel and message.
        receives: messages ``receive()`` returned.
        group_sends: ``group_send()`` calls with a valid group and message.
        new_channels: names ``new_channel()`` made.
        no_receiver: ``send()`` calls to an address with no open mailbox (an ended actor).
        rejected: messages a full layer-owned channel refused (``ChannelFull`` to a
            ``send()``; counted without raising for a ``group_send()``).
        expired: messages in layer-owned channels that outlived ``expiry`` unread.
        discarded: messages in layer-owned channels dropped by ``flush()``.
        flushes: ``flush()`` calls.
    """

    registry: RegistryStatistics
    channels: int
    channels_created: int
    channels_removed: int
    queued: int
    sends: int
    receives: int
    group_sends: int
    new_channels: int
    no_receiver: int
    rejected: int
    expired: int
    discarded: int
    flushes: int


@attrs.define(eq=False)
class OwnedChannels:
    """What the in-memory layer owns in one event loop: its channels and its counters.

    Every :class:`~callboard.layers.InMemoryChannelLayer` running in the loop
    shares it; get it with :func:`owned_channels`.
    """

    registry: Registry
    owned: dict[str, Mailbox] = attrs.field(factory=dict)
    """Layer-owned mailboxes by name, as registered."""
    issued: set[str] = attrs.field(factory=set)
    """Names made by new_channel(): mailboxes for them are made on demand."""
    receiving: dict[str, int] = attrs.field(factory=dict)
    """receive() calls in progress, per channel (woken ones included)."""
    sends: int = 0
    receives: int = 0
    group_sends: int = 0
    new_channels: int = 0
    no_receiver: int = 0
    flushes: int = 0
    channels_created: int = 0
    channels_removed: int = 0
    gone_rejected: int = 0
    gone_expired: int = 0
    gone_discarded: int = 0

    def on_demand(self, channel: str, config: LayerConfig) -> Mailbox | None:
        """Create the layer-owned mailbox for an unregistered ``channel``, if it may have one.

        Returns:
            The new mailbox, or ``None`` for a process-local name that
            ``new_channel()`` did not make (an ended actor's address).
        """
        if "!" in channel and channel not in self.issued:
            return None
        stale = self.owned.pop(channel, None)
        if stale is not None:  # unregistered behind the layer's back: keep its counts
            self._fold(stale)
        mailbox = self.registry.register(
            channel, capacity=config.capacity_for(channel), policy=OverflowPolicy.REJECT
        )
        self.owned[channel] = mailbox
        self.channels_created += 1
        return mailbox

    def release_if_idle(self, channel: str) -> None:
        """Remove a layer-owned general channel that is empty, unwaited and in no group."""
        mailbox = self.owned.get(channel)
        if (
            mailbox is None
            or "!" in channel
            or len(mailbox)
            or channel in self.receiving
            or self.registry.groups_of(channel)
        ):
            return
        self.remove(channel, mailbox)

    def remove(self, channel: str, mailbox: Mailbox) -> None:
        """Unregister a layer-owned mailbox, keeping its undelivered counts."""
        if self.registry.lookup(channel) is mailbox:
            self.registry.unregister(channel)
        del self.owned[channel]
        self._fold(mailbox)

    def _fold(self, mailbox: Mailbox) -> None:
        stats = mailbox.statistics()
        self.gone_rejected += stats.rejected
        self.gone_expired += stats.expired
        self.gone_discarded += stats.discarded
        self.channels_removed += 1

    def statistics(self) -> InMemoryLayerStatistics:
        """Return a snapshot of the layer-owned channels and the layer's counters."""
        rejected, expired, discarded = self.gone_rejected, self.gone_expired, self.gone_discarded
        queued = 0
        for mailbox in self.owned.values():
            stats = mailbox.statistics()
            rejected += stats.rejected
            expired += stats.expired
            discarded += stats.discarded
            queued += stats.depth
        return InMemoryLayerStatistics(
            registry=self.registry.statistics(),
            channels=len(self.owned),
            channels_created=self.channels_created,
            channels_removed=self.channels_removed,
            queued=queued,
            sends=self.sends,
            receives=self.receives,
            group_sends=self.group_sends,
            new_channels=self.new_channels,
            no_receiver=self.no_receiver,
            rejected=rejected,
            expired=expired,
            discarded=discarded,
            flushes=self.flushes,
        )


def owned_channels() -> OwnedChannels:
    """Return the running event loop's :class:`OwnedChannels`, creating it on first use."""
    runtime = current_runtime()
    state: OwnedChannels | None = runtime.extras.get(_STATE_KEY)
    if state is None:
        state = OwnedChannels(registry=runtime.registry)
        runtime.extras[_STATE_KEY] = state
    return state
