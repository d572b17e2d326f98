"""BaseChannelLayer: Channels' base-class helpers, on callboard's name rules and config.

Code written against ``channels.layers.BaseChannelLayer`` (name validation,
``get_capacity``, ``compile_capacities``, ``non_local_name``) keeps working;
validation raises :class:`~callboard.exceptions.InvalidNameError` naming the rule.

Not here: the protocol (``_protocol``), the configuration (``_config``), a
working layer (``_inmemory``).
"""

from __future__ import annotations

import inspect
import re
from typing import Any, ClassVar

import attrs
from anyio.lowlevel import cancel_shielded_checkpoint, checkpoint_if_cancelled

from callboard.actors import MAX_NAME_LENGTH, require_valid_channel_name, require_valid_group_name
from callboard.actors import non_local_name as _non_local_name
from callboard.exceptions import InvalidChannelLayerError, InvalidNameError

from ._config import ChannelCapacity, LayerConfig, compile_capacities

__all__ = ["BaseChannelLayer"]


def _option_names(cls: type) -> list[str]:
    parameters = inspect.signature(cls).parameters.values()
    skip = (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    return sorted(p.name for p in parameters if p.kind not in skip)


class BaseChannelLayer:
    """Base class for channel layers, with Channels' ``BaseChannelLayer`` helpers.

    Subclasses implement the :class:`ChannelLayer` methods; unimplemented ones
    raise ``NotImplementedError`` naming the extension, as in Channels. Name
    validation is callboard's (:func:`callboard.actors.require_valid_channel_name`):
    it raises :class:`~callboard.exceptions.InvalidNameError`, a ``TypeError``
    like Channels' and a ``ValueError``, naming the rule broken.

    A layer holds configuration only, so one instance may serve several event
    loops (Channels caches layers the same way).

    Args:
        expiry: see :class:`LayerConfig`.
        capacity: see :class:`LayerConfig`.
        channel_capacity: see :func:`compile_capacities`.
        group_expiry: see :class:`LayerConfig` (keyword-only here; Channels'
            base class has no groups).
        **kwargs: accepted so that subclasses can pass their options through,
            like Channels'; any left over is an error.

    Raises:
        InvalidChannelLayerError: an unknown option (the message lists the
            valid ones) or a value out of range.
    """

    MAX_NAME_LENGTH: ClassVar[int] = MAX_NAME_LENGTH
    """Names must be shorter than this (Channels' limit)."""

    extensions: ClassVar[list[str]] = []
    """The optional API parts implemented; Channels' attribute."""

    def __init__(
        self,
        expiry: float = 60,
        capacity: int = 100,
        channel_capacity: ChannelCapacity | None = None,
        *,
        group_expiry: float = 86_400,
        **kwargs: object,
    ) -> None:
        if kwargs:
            unknown = ", ".join(repr(name) for name in sorted(kwargs))
            valid = ", ".join(repr(name) for name in _option_names(type(self)))
            raise InvalidChannelLayerError(
                f"{type(self).__name__} got unknown option(s) {unknown}; valid options are {valid}."
            )
        self.config = LayerConfig(
            expiry=expiry,
            group_expiry=group_expiry,
            capacity=capacity,
            channel_capacity=channel_capacity,
        )

    # -- configuration (Channels' attribute names) -----------------------------

    @property
    def expiry(self) -> float:
        """Seconds a message waits unread before it expires."""
        return self.config.expiry

    @property
    def group_expiry(self) -> float:
        """Seconds a group membership lasts unless renewed."""
        return self.config.group_expiry

    @property
    def capacity(self) -> int:
        """The default capacity of a channel."""
        return self.config.capacity

    @property
    def channel_capacity(self) -> list[tuple[re.Pattern[str], int]]:
        """The compiled per-channel capacities (Channels' attribute)."""
        return list(self.config.channel_capacity)

    @channel_capacity.setter
    def channel_capacity(self, value: ChannelCapacity | None) -> None:
        # Layers ported from channels_redis assign the compiled list after
        # calling the base initialiser; accept that, or a fresh mapping.
        self.config = attrs.evolve(self.config, channel_capacity=value)

    def compile_capacities(
        self, channel_capacity: ChannelCapacity | None
    ) -> list[tuple[re.Pattern[str], int]]:
        """Compile a ``channel_capacity`` mapping (Channels' method).

        Returns:
            The (pattern, capacity) pairs, in order.

        Raises:
            InvalidChannelLayerError: as :func:`compile_capacities`.
        """
        return list(compile_capacities(channel_capacity))

    def get_capacity(self, channel: str) -> int:
        """Return the capacity of ``channel``: the first matching pattern's, else the default.

        Patterns may be globs or compiled regexes (a regex is applied with
        ``re.match``, as in Channels).
        """
        return self.config.capacity_for(channel)

    # -- names -------------------------------------------------------------------

    def match_type_and_length(self, name: object) -> bool:
        """Return whether ``name`` is a str shorter than :attr:`MAX_NAME_LENGTH`."""
        return isinstance(name, str) and len(name) < self.MAX_NAME_LENGTH

    def require_valid_channel_name(self, name: object, receive: bool = False) -> bool:
        """Check a channel name (Channels' method; callboard's rules and errors).

        Args:
            name: the candidate.
            receive: also apply the cross-process rule that a process-local
                name given to ``receive()`` ends at its ``!``.

        Returns:
            ``True``, as Channels'.

        Raises:
            InvalidNameError: naming the rule broken and the offending value.
        """
        require_valid_channel_name(name, receive=receive)
        return True

    def require_valid_group_name(self, name: object) -> bool:
        """Check a group name (Channels' method; callboard's rules and errors).

        Returns:
            ``True``, as Channels'.

        Raises:
            InvalidNameError: naming the rule broken and the offending value.
        """
        require_valid_group_name(name)
        return True

    def valid_channel_names(self, names: object, receive: bool = False) -> bool:
        """Check every name in a non-empty list (Channels' method).

        Returns:
            ``True``.

        Raises:
            InvalidNameError: ``names`` is not a non-empty list, or one of
                its names breaks a rule.
        """
        if not isinstance(names, list) or not names:
            raise InvalidNameError("channel", names, "expected a non-empty list of channel names")
        for name in names:
            require_valid_channel_name(name, receive=receive)
        return True

    def non_local_name(self, name: str) -> str:
        """Return ``name`` up to and including its ``!``, or whole if it has none."""
        return _non_local_name(name)

    # -- the API (Channels' placeholders) ----------------------------------------

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """Send a message to a channel; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} does not implement send()")

    async def receive(self, channel: str) -> dict[str, Any]:
        """Receive the next message on a channel; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} does not implement receive()")

    async def new_channel(self, prefix: str = "specific.") -> str:
        """Return a new process-local channel name; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} does not implement new_channel()")

    async def group_add(self, group: str, channel: str) -> None:
        """Add a channel to a group (groups extension)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not implement group_add() (groups extension)"
        )

    async def group_discard(self, group: str, channel: str) -> None:
        """Remove a channel from a group (groups extension)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not implement group_discard() (groups extension)"
        )

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        """Send a message to a group (groups extension)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not implement group_send() (groups extension)"
        )

    async def flush(self) -> None:
        """Drop every message and group (flush extension)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not implement flush() (flush extension)"
        )

    async def close(self) -> None:
        """Release resources; the base layer holds none, so this only checkpoints."""
        await checkpoint_if_cancelled()
        await cancel_shielded_checkpoint()

    def __repr__(self) -> str:
        config = self.config
        return (
            f"{type(self).__name__}(expiry={config.expiry!r}, "
            f"group_expiry={config.group_expiry!r}, capacity={config.capacity!r}, "
            f"channel_capacity={len(config.channel_capacity)} pattern(s))"
        )
