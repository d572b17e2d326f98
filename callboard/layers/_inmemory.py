"""The in-memory channel layer: Channels' layer API over the running event loop's registry.

A send to an actor's address is a direct put into its mailbox (one isolation
copy, its overflow policy applies). A send to a general name (no ``!``) or to
a name from :meth:`InMemoryChannelLayer.new_channel` goes into a mailbox the
layer owns, created on demand with the channel's capacity and the ``reject``
policy, so a full channel raises :class:`~callboard.exceptions.ChannelFull` as
in Channels. A send to any other process-local name is a message to an actor
that has ended: counted, not an error. Every message carries the layer's
expiry as its deadline. A layer-owned general channel is removed once it is
drained and nobody waits on it; one nobody reads holds at most its capacity,
and messages past their expiry are counted and make room for new ones.

Presence is the registry's: a member added with metadata is present, and
the registry announces its join and its leave (however it leaves) to the
group's watchers. In one process there are no ghosts to time out: an
actor's memberships end with it.

Not here: the mailboxes and groups themselves (``callboard.actors``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import anyio
from anyio.lowlevel import cancel_shielded_checkpoint, checkpoint_if_cancelled

from callboard.actors import (
    Membership,
    Overflowed,
    PresenceMember,
    Registry,
    new_address,
    presence_events_group,
    require_valid_channel_name,
    require_valid_group_name,
    runs_at_home,
)
from callboard.exceptions import ChannelFull, InvalidMessageError, InvalidNameError

from ._base import BaseChannelLayer
from ._config import ChannelCapacity
from ._owned import InMemoryLayerStatistics, OwnedChannels, owned_channels

__all__ = ["InMemoryChannelLayer"]

_NO_MAILBOX = (
    "no mailbox in this process has that name: no running actor has this address and "
    "new_channel() did not make it (messages sent to it are counted as undelivered, not "
    "queued). Receive on a name from new_channel(), a general name, or a running actor's address"
)


def _check_message(message: object) -> None:
    if not isinstance(message, dict):
        raise InvalidMessageError(
            message,
            f"a channel-layer message must be a dict, not {type(message).__name__}, "
            "like {'type': 'chat.message', 'text': 'hi'}",
        )
    if "__asgi_channel__" in message:
        raise InvalidMessageError(
            message, "the '__asgi_channel__' key is reserved for channel layers; remove it"
        )


def check_metadata(metadata: object) -> None:
    """Refuse presence metadata that is not a mapping with str keys.

    Raises:
        TypeError: naming what was given and what is expected.
    """
    if metadata is None:
        return
    if not isinstance(metadata, Mapping) or not all(isinstance(k, str) for k in metadata):
        raise TypeError(
            f"Presence metadata must be a mapping with str keys, like {{'user': 'alice'}}, "
            f"not {metadata!r}; pass {{}} to be present without any."
        )


class InMemoryChannelLayer(BaseChannelLayer):
    """Channels' in-memory layer, backed by the running event loop's registry.

    Each event loop has its own registry, so layers never leak messages or
    groups between loops (or tests); the layer object holds configuration
    only and may be shared by several loops.

    Every method is a checkpoint: it raises ``Cancelled`` if its scope is
    cancelled on entry, and otherwise either completes or raises an error.

    ``group_expiry`` is a property of the loop's registry (one value for all
    its groups); each group operation of this layer sets it to the layer's.

    Args:
        expiry: seconds a message waits unread before it expires (counted).
        group_expiry: seconds a group membership lasts unless renewed by
            another ``group_add``.
        capacity: how many messages a layer-owned channel holds.
        channel_capacity: per-channel capacities: globs or compiled regexes
            to ints; the first match wins.
        **kwargs: none are valid; an unknown option is an error listing the
            valid ones.

    Raises:
        InvalidChannelLayerError: an unknown option or a value out of range.
    """

    extensions: ClassVar[list[str]] = ["groups", "flush", "presence"]

    def __init__(
        self,
        expiry: float = 60,
        group_expiry: float = 86_400,
        capacity: int = 100,
        channel_capacity: ChannelCapacity | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(
            expiry=expiry,
            capacity=capacity,
            channel_capacity=channel_capacity,
            group_expiry=group_expiry,
            **kwargs,
        )

    # -- channels ----------------------------------------------------------------

    @runs_at_home
    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """Send ``message`` to ``channel``, expiring after ``expiry`` seconds unread.

        An actor's mailbox applies its own overflow policy; a layer-owned
        channel rejects when full. A process-local name with no mailbox (an
        ended actor's) is counted in ``no_receiver`` and is not an error.

        Args:
            channel: a valid channel name.
            message: a dict without the ``__asgi_channel__`` key; the receiver
                gets its own copy, so mutating it afterwards changes nothing.

        Raises:
            InvalidNameError: ``channel`` breaks the naming rules.
            InvalidMessageError: ``message`` is not a dict, or has ``__asgi_channel__``.
            ChannelFull: the channel is full and its policy is ``reject``.
        """
        require_valid_channel_name(channel)
        _check_message(message)
        await checkpoint_if_cancelled()
        state = owned_channels()
        state.sends += 1
        registry = state.registry
        mailbox = registry.lookup(channel)
        if mailbox is None:
            mailbox = state.on_demand(channel, self.config)
        if mailbox is None or mailbox.closed:
            state.no_receiver += 1
            registry.send_nowait(channel, message)  # counted there too, and logged
        else:
            registry.send_nowait(
                channel, message, deadline=anyio.current_time() + self.config.expiry
            )
        await cancel_shielded_checkpoint()

    @runs_at_home
    async def receive(self, channel: str) -> dict[str, Any]:
        """Wait for the next message on ``channel`` and return it.

        Several tasks may receive on one channel: each message goes to exactly
        one of them. Receiving on an actor's own address is allowed (it
        competes with the actor's loop for its messages).

        Args:
            channel: a general name, a name from :meth:`new_channel`, or a
                running actor's full address.

        Returns:
            The message (the receiver's own copy).

        Raises:
            InvalidNameError: ``channel`` breaks the naming rules, or is a
                process-local name with no mailbox here (an ended actor's, or
                one ``new_channel()`` did not make): waiting on it would never end.
            ChannelFull: ``channel`` is an actor's address whose
                ``disconnect``-policy mailbox overflowed (the signal for its
                owner to close).
            anyio.EndOfStream: ``channel`` is an actor's address and that
                actor stopped (its mailbox closed) while this waited.

        Cancellation: if cancelled, no message was taken; it stays queued for
        the next receiver.
        """
        require_valid_channel_name(channel)
        state = owned_channels()
        mailbox = state.registry.lookup(channel)
        if mailbox is None:
            mailbox = state.on_demand(channel, self.config)
            if mailbox is None:
                raise InvalidNameError("channel", channel, _NO_MAILBOX)
        receiving = state.receiving
        receiving[channel] = receiving.get(channel, 0) + 1
        try:
            item = await mailbox.receive()
        finally:
            left = receiving[channel] - 1
            if left:
                receiving[channel] = left
            else:
                del receiving[channel]
                if not len(mailbox) and "!" not in channel:
                    state.release_if_idle(channel)
        if type(item) is not dict and isinstance(item, Overflowed):
            raise ChannelFull(channel, item.capacity)
        state.receives += 1
        message: dict[str, Any] = item
        return message

    @runs_at_home
    async def new_channel(self, prefix: str = "specific.") -> str:
        """Return a fresh process-local name, with a layer-owned mailbox behind it.

        The mailbox lives until :meth:`flush`; the name keeps getting one on
        demand after that.

        Args:
            prefix: the name's leading part (Channels' default ``"specific."``;
                a trailing ``.`` is dropped).

        Returns:
            ``<prefix>.<process>!<n>.<random>``, never reused in this process.

        Raises:
            InvalidNameError: ``prefix`` makes an invalid name.
        """
        if not isinstance(prefix, str):
            raise InvalidNameError(
                "channel",
                prefix,
                f"the new_channel() prefix must be a str, not {type(prefix).__name__}",
            )
        await checkpoint_if_cancelled()
        address = new_address(prefix)
        state = owned_channels()
        state.issued.add(address)
        state.on_demand(address, self.config)
        state.new_channels += 1
        await cancel_shielded_checkpoint()
        return address

    # -- groups ------------------------------------------------------------------

    def _registry_for_groups(self) -> tuple[OwnedChannels, Registry]:
        state = owned_channels()
        registry = state.registry
        group_expiry = self.config.group_expiry
        if registry.group_expiry != group_expiry:
            registry.group_expiry = group_expiry
        return state, registry

    @runs_at_home
    async def group_add(
        self, group: str, channel: str, *, metadata: Mapping[str, Any] | None = None
    ) -> None:
        """Add ``channel`` to ``group``, or renew its membership for ``group_expiry`` seconds.

        A general name (or a ``new_channel()`` name) gets its layer-owned
        mailbox now, kept while it is in a group, so group messages for it
        queue as in Channels.

        Args:
            group: a valid group name.
            channel: a valid channel name.
            metadata: callboard's presence extension: with it (``{}`` for
                nothing to say) the member is present (:meth:`presence`) and
                the group's watchers hear of its joining, and of its leaving.

        Raises:
            InvalidNameError: either name breaks the naming rules.
            TypeError: ``metadata`` is not a mapping with str keys.
        """
        check_metadata(metadata)
        await checkpoint_if_cancelled()
        state, registry = self._registry_for_groups()
        registry.group_add(group, channel, metadata=metadata)
        if registry.lookup(channel) is None:
            state.on_demand(channel, self.config)
        await cancel_shielded_checkpoint()

    @runs_at_home
    async def group_discard(self, group: str, channel: str) -> None:
        """Remove ``channel`` from ``group``; nothing happens if it is not a member.

        A present member's leaving is announced to the group's watchers.

        Raises:
            InvalidNameError: either name breaks the naming rules.
        """
        await checkpoint_if_cancelled()
        state, registry = self._registry_for_groups()
        registry.group_discard(group, channel)
        state.release_if_idle(channel)
        await cancel_shielded_checkpoint()

    @runs_at_home
    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every live member of ``group``, each its own copy.

        Never raises :class:`~callboard.exceptions.ChannelFull`: each member's
        policy applies and whatever is not queued is counted (``rejected`` or
        dropped on the mailbox, ``no_receiver`` for an ended actor).

        Args:
            group: a valid group name.
            message: as for :meth:`send`; expires after ``expiry`` seconds unread.

        Raises:
            InvalidNameError: ``group`` breaks the naming rules.
            InvalidMessageError: as for :meth:`send`.
        """
        _check_message(message)
        await checkpoint_if_cancelled()
        state, registry = self._registry_for_groups()
        registry.group_send_nowait(
            group, message, deadline=anyio.current_time() + self.config.expiry
        )
        state.group_sends += 1
        await cancel_shielded_checkpoint()

    @runs_at_home
    async def group_size(self, group: str) -> int:
        """Return how many live members ``group`` has (callboard's extension).

        Raises:
            InvalidNameError: ``group`` breaks the naming rules.
        """
        require_valid_group_name(group)
        await checkpoint_if_cancelled()
        _, registry = self._registry_for_groups()
        size = registry.group_size(group)
        await cancel_shielded_checkpoint()
        return size

    @runs_at_home
    async def members(self, group: str) -> list[Membership]:
        """Return the live memberships of ``group`` in join order (callboard's extension).

        Each carries the member's address, when it (re)joined and the
        metadata it gave to :meth:`group_add`.

        Raises:
            InvalidNameError: ``group`` breaks the naming rules.
        """
        require_valid_group_name(group)
        await checkpoint_if_cancelled()
        _, registry = self._registry_for_groups()
        members = registry.members(group)
        await cancel_shielded_checkpoint()
        return members

    # -- presence ----------------------------------------------------------------

    @runs_at_home
    async def presence(self, group: str) -> list[PresenceMember]:
        """Return the members present in ``group`` (added with metadata), in join order.

        Raises:
            InvalidNameError: ``group`` breaks the naming rules.
        """
        require_valid_group_name(group)
        await checkpoint_if_cancelled()
        _, registry = self._registry_for_groups()
        present = registry.presence(group)
        await cancel_shielded_checkpoint()
        return present

    @runs_at_home
    async def presence_watch(self, group: str, channel: str) -> None:
        """Send ``group``'s joins and leaves to ``channel`` as ``callboard.presence`` messages.

        ``channel`` joins the group's companion group
        (:func:`~callboard.actors.presence_events_group`); it stops when it
        leaves it (:meth:`presence_unwatch`) or its actor ends.

        Raises:
            InvalidNameError: either name breaks the naming rules.
        """
        require_valid_group_name(group)
        await self.group_add(presence_events_group(group), channel)

    @runs_at_home
    async def presence_unwatch(self, group: str, channel: str) -> None:
        """Stop sending ``group``'s joins and leaves to ``channel``.

        Raises:
            InvalidNameError: either name breaks the naming rules.
        """
        require_valid_group_name(group)
        await self.group_discard(presence_events_group(group), channel)

    # -- lifetime ----------------------------------------------------------------

    @runs_at_home
    async def flush(self) -> None:
        """Drop every queued message and every group in this event loop (counted).

        Actors' mailboxes are emptied too and stay registered. Layer-owned
        channels are forgotten, except ones a receiver is waiting on: that
        receiver keeps waiting and gets the next message sent.
        """
        await checkpoint_if_cancelled()
        state = owned_channels()
        state.registry.flush()
        receiving = state.receiving
        for channel, mailbox in list(state.owned.items()):
            if channel not in receiving:
                state.remove(channel, mailbox)
        state.flushes += 1
        await cancel_shielded_checkpoint()

    @runs_at_home
    async def close(self) -> None:
        """Do nothing but checkpoint: the layer holds no resources (safe to call repeatedly).

        The layer keeps working after ``close()``, as Channels' in-memory layer does.
        """
        await checkpoint_if_cancelled()
        await cancel_shielded_checkpoint()

    def statistics(self) -> InMemoryLayerStatistics:
        """Return a snapshot of the in-memory layer in the running event loop.

        Raises:
            RuntimeError: no event loop is running.
        """
        return owned_channels().statistics()
