"""The exceptions callboard raises, under one root, with Channels' names kept.

Channels code imports ``StopConsumer``, ``DenyConnection``, ``AcceptConnection``,
``ChannelFull`` and ``InvalidChannelLayerError`` from ``channels.exceptions``;
the same names live here so a port changes the import only.

Every error subclasses :class:`CallboardError` and the builtin a user would
already catch (``ValueError``, ``TypeError``, ``LookupError`` ...). "You closed
it" (:class:`anyio.ClosedResourceError` on a mailbox you closed) is kept apart
from "it broke" (the errors here).
"""

from __future__ import annotations

__all__ = [
    "AcceptConnection",
    "CallboardError",
    "ChannelFull",
    "DenyConnection",
    "InvalidChannelLayerError",
    "InvalidMessageError",
    "InvalidNameError",
    "LayerNotOpenError",
    "LayerUnavailableError",
    "NoHandlerError",
    "RestartIntensityError",
    "StopConsumer",
]


class CallboardError(Exception):
    """Root of every error callboard raises (Channels' control-flow names excepted)."""


class InvalidNameError(CallboardError, TypeError, ValueError):
    """A channel or group name breaks Channels' naming rules.

    It is both a ``TypeError`` (what Channels raises, so ported ``except`` clauses
    keep working) and a ``ValueError`` (what the value really is).

    Attributes:
        kind: ``"channel"`` or ``"group"``.
        name: the offending value, as given.
        rule: the rule it breaks, in words.
    """

    def __init__(self, kind: str, name: object, rule: str) -> None:
        self.kind = kind
        self.name = name
        self.rule = rule
        super().__init__(f"Invalid {kind} name {name!r}: {rule}")


class ChannelFull(CallboardError):
    """A point-to-point send found the receiving mailbox full (Channels' name).

    Raised to the sender of ``channel_layer.send(...)`` when the receiving
    mailbox's overflow policy is ``reject``. ``group_send`` never raises it.

    Attributes:
        channel: the address whose mailbox was full.
        capacity: that mailbox's capacity.
    """

    def __init__(self, channel: str, capacity: int | None = None) -> None:
        self.channel = channel
        self.capacity = capacity
        detail = f" (capacity {capacity})" if capacity is not None else ""
        super().__init__(
            f"Channel {channel!r} is full{detail}: its reader is not keeping up. "
            "Retry later, raise its capacity, or choose another overflow policy."
        )


class InvalidMessageError(CallboardError, ValueError):
    """A message is not a Channels-shaped message (a dict with a valid ``type``).

    Attributes:
        message: the offending message (truncated in the text).
        reason: what is wrong with it.
    """

    def __init__(self, message: object, reason: str) -> None:
        self.message = message
        self.reason = reason
        shown = repr(message)
        if len(shown) > 200:
            shown = shown[:197] + "..."
        super().__init__(f"Invalid message {shown}: {reason}")


class NoHandlerError(CallboardError, ValueError):
    """A message arrived whose ``type`` has no handler method on the actor.

    Attributes:
        message_type: the message's ``type`` value.
        handler_name: the method callboard looked for.
        actor_class: the name of the class that lacks it.
        sync: whether the class's handlers are plain functions (a ``SyncConsumer``).
    """

    def __init__(
        self, message_type: str, handler_name: str, actor_class: str, *, sync: bool = False
    ) -> None:
        self.message_type = message_type
        self.handler_name = handler_name
        self.actor_class = actor_class
        self.sync = sync
        kind = "def" if sync else "async def"
        super().__init__(
            f"No handler for message type {message_type!r} on {actor_class}: "
            f"define `{kind} {handler_name}(self, event)` on {actor_class}, "
            "or stop sending that type to it."
        )


class RestartIntensityError(CallboardError, RuntimeError):
    """A supervisor's children failed more often than its restart limit allows.

    The supervisor gives up and the failure escalates to its owner; the last
    child failure is the ``__cause__``.

    Attributes:
        supervisor: the supervisor's name.
        max_restarts: the limit.
        period: the window, in seconds.
    """

    def __init__(self, supervisor: str, max_restarts: int, period: float) -> None:
        self.supervisor = supervisor
        self.max_restarts = max_restarts
        self.period = period
        super().__init__(
            f"Supervisor {supervisor!r} gave up: more than {max_restarts} restarts "
            f"within {period:g} s. The last child failure is chained below."
        )


class InvalidChannelLayerError(CallboardError, ValueError):
    """``CHANNEL_LAYERS`` (or the mapping given instead) is wrong (Channels' name)."""


class LayerNotOpenError(CallboardError, RuntimeError):
    """A channel-layer call needs the layer running in this event loop, and nothing runs it.

    Receiving (``receive``, ``new_channel``, ``group_add`` for a channel of
    this process) needs background tasks, and every task needs an owner.

    Attributes:
        layer: the layer's class name.
        operation: the call that needed it.
    """

    def __init__(self, layer: str, operation: str) -> None:
        self.layer = layer
        self.operation = operation
        super().__init__(
            f"{layer}.{operation}() needs the layer open in this event loop: it reads this "
            "process's messages from Redis in a background task, which needs an owner. Serve "
            "with `callboard serve` (the server's supervisor owns it), or wrap the code in "
            "`async with layer.open():` (tests, scripts, workers)."
        )


class LayerUnavailableError(CallboardError, ConnectionError):
    """A channel layer's server could not be reached, refused us, or did not answer in time.

    A ``ConnectionError``, so code that already catches connection failures
    catches it too.

    Attributes:
        host: the server, as configured (any password masked).
        operation: what the layer was doing (``"send"``, ``"connect"`` ...).
        reason: what went wrong, in words.
        hint: what to do about it.
    """

    def __init__(self, host: str, operation: str, reason: str, hint: str = "") -> None:
        self.host = host
        self.operation = operation
        self.reason = reason
        self.hint = hint
        text = f"Channel layer {operation} failed: Redis at {host} {reason}."
        super().__init__(f"{text} {hint}" if hint else text)


# Channels' control-flow exceptions. They are not errors and do not derive
# from CallboardError: consumers raise them to steer the connection.


class StopConsumer(Exception):
    """Raise in a consumer handler to end the consumer cleanly (Channels' name)."""


class DenyConnection(Exception):
    """Raise in ``websocket_connect`` to refuse the connection (Channels' name)."""


class AcceptConnection(Exception):
    """Raise in ``websocket_connect`` to accept the connection (Channels' name)."""
