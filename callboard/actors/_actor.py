"""Actor: one task that owns a mailbox and handles its messages one at a time.

A message is a Channels-shaped dict; its ``type`` picks the handler, dots
becoming underscores (``"chat.message"`` → ``chat_message``). The loop drains
what is already queued in one wake-up, so a burst costs one scheduler round
trip, not one per message. A handler's exception ends this actor alone; what
happens next is its owner's call (a supervisor restarts it, a connection
closes).

Not here: restarting (``_supervisor``), addresses and groups (``_registry``).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import anyio
import attrs
from anyio.lowlevel import checkpoint, checkpoint_if_cancelled

from callboard.exceptions import InvalidMessageError, NoHandlerError

from ._address import new_address
from ._mailbox import DEFAULT_CAPACITY, Mailbox, MailboxStatistics, Overflowed, OverflowPolicy
from ._runtime import Runtime, current_runtime

__all__ = ["Actor", "ActorStatistics", "handler_name", "reserve_handler_names"]

Handler = Callable[[Any, dict[str, Any]], Awaitable[None]]


def handler_name(message_type: object) -> str:
    """Return the handler method name for a message type (Channels' rule).

    Raises:
        InvalidMessageError: the type is not a string, or names a private method.
    """
    if not isinstance(message_type, str) or not message_type:
        raise InvalidMessageError(
            {"type": message_type}, "its 'type' must be a non-empty str like 'chat.message'"
        )
    name = message_type.replace(".", "_")
    if name.startswith("_"):
        raise InvalidMessageError(
            {"type": message_type},
            "its 'type' must not start with '.' or '_' (that would name a private method)",
        )
    return name


_RESERVED: set[str] = set()
"""Method names of the runtime's own classes, never reachable as handlers."""


def reserve_handler_names(cls: type, *, allow: Iterable[str] = ()) -> None:
    """Make every public attribute of ``cls`` unreachable as a message handler.

    A message ``{"type": "dispatch"}`` must not call the actor's machinery;
    the runtime's base classes (this module's ``Actor``, the consumer bases)
    reserve their names at import. Handlers of protocol events (names that
    start with ``websocket_``, ``http_`` or ``lifespan_``) stay reachable, and
    so do the names in ``allow`` (handlers the runtime defines itself).
    """
    allowed = set(allow)
    _RESERVED.update(
        name
        for name in vars(cls)
        if not name.startswith(("_", "websocket_", "http_", "lifespan_")) and name not in allowed
    )


@attrs.frozen(kw_only=True)
class ActorStatistics:
    """A snapshot of one actor: who it is, what it handled, its mailbox."""

    address: str | None
    actor_class: str
    handled: int
    mailbox: MailboxStatistics | None


class Actor:
    """Base class for actors: subclass, then define ``async def <type>(self, message)``.

    Class attributes choose the mailbox: ``mailbox_capacity`` (default 100,
    like Channels) and ``overflow_policy`` (default ``"drop_newest"``).

    Run one with :meth:`run` (registers, serves, unregisters), or
    :meth:`attach` + :meth:`serve` when the caller needs the address first.
    Stop it gracefully with :meth:`request_stop`: it handles what is already
    queued, then :meth:`serve` returns. Cancel its task to stop it at once.
    """

    mailbox_capacity: ClassVar[int] = DEFAULT_CAPACITY
    overflow_policy: ClassVar[OverflowPolicy | str] = OverflowPolicy.DROP_NEWEST
    address_prefix: ClassVar[str] = "specific"
    _handlers: ClassVar[dict[str, Handler]] = {}

    address: str | None = None
    mailbox: Mailbox | None = None
    _runtime: Runtime | None = None
    _handled: int = 0
    _stop_requested: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._handlers = {}

    # -- dispatch --------------------------------------------------------------

    def find_handler(self, message: dict[str, Any]) -> Handler:
        """Return the (unbound) handler function for ``message``.

        Raises:
            InvalidMessageError: no ``type`` key, or an invalid type.
            NoHandlerError: the class defines no method for that type.
        """
        try:
            message_type = message["type"]
        except (KeyError, TypeError):
            raise InvalidMessageError(
                message, "it must be a dict with a 'type' key, like {'type': 'chat.message'}"
            ) from None
        cache = type(self)._handlers
        try:
            return cache[message_type]
        except (KeyError, TypeError):
            pass
        name = handler_name(message_type)
        function = getattr(type(self), name, None)
        if function is None or not callable(function) or name in _RESERVED:
            raise NoHandlerError(message_type, name, type(self).__name__)
        if len(cache) < 1024:
            cache[message_type] = function
        return function  # type: ignore[no-any-return]  # a user-defined method

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Call the handler for ``message`` and wait for it to return."""
        await self.find_handler(message)(self, message)

    async def handle_signal(self, signal: object) -> None:
        """React to a runtime signal from the mailbox (or a non-dict put in it).

        The default stops the actor gracefully when a ``disconnect``-policy
        mailbox overflowed; consumers override it (a WebSocket closes with 1013).

        Raises:
            InvalidMessageError: ``signal`` is neither a known signal nor a
                message (something other than a dict was sent).
        """
        if isinstance(signal, Overflowed):
            self.request_stop()
            return
        raise InvalidMessageError(
            signal, "messages must be dicts with a 'type' key, like {'type': 'chat.message'}"
        )

    # -- lifetime --------------------------------------------------------------

    @contextmanager
    def attach(self, runtime: Runtime | None = None) -> Iterator[Mailbox]:
        """Give this actor an address and a registered mailbox for the block.

        On exit, however the block ends, the address is unregistered, every
        group membership is dropped and undelivered messages are counted as
        discarded.

        Args:
            runtime: where to register; the running loop's runtime by default.

        Raises:
            RuntimeError: the actor is already attached.
        """
        if self.mailbox is not None:
            raise RuntimeError(f"{type(self).__name__} {self.address!r} is already running.")
        runtime = runtime if runtime is not None else current_runtime()
        address = new_address(self.address_prefix)
        mailbox = runtime.registry.register(
            address, capacity=self.mailbox_capacity, policy=self.overflow_policy
        )
        self.address, self.mailbox, self._runtime = address, mailbox, runtime
        runtime.actors[address] = self
        if self._stop_requested:
            mailbox.close()
        try:
            yield mailbox
        finally:
            runtime.actors.pop(address, None)
            runtime.registry.unregister(address)
            self.mailbox = None
            self._runtime = None

    async def serve(self) -> None:
        """Handle messages until the mailbox is closed and drained.

        Raises:
            RuntimeError: not attached.
            Exception: whatever a handler raised; the loop ends there.
        """
        mailbox = self.mailbox
        if mailbox is None:
            raise RuntimeError(f"{type(self).__name__} must be attached before serve().")
        dispatch = self.dispatch
        budget = max(mailbox.capacity, 1)
        while True:
            await mailbox.wait_nonempty()
            await checkpoint_if_cancelled()
            for _ in range(budget):
                try:
                    item = mailbox.receive_nowait()
                except anyio.WouldBlock:
                    break
                except anyio.EndOfStream:
                    return
                if type(item) is dict or isinstance(item, dict):  # fast path first
                    await dispatch(item)
                    self._handled += 1
                else:
                    await self.handle_signal(item)
            else:
                await checkpoint()  # a full batch without waiting: let others run

    async def run(self, runtime: Runtime | None = None) -> None:
        """Attach, serve until stopped, detach.

        Cancellation: cancelling the task stops the actor at once; the
        detach still happens.
        """
        with self.attach(runtime):
            await self.serve()

    def request_stop(self) -> None:
        """Ask the actor to finish: queued messages are handled, then it ends.

        Never blocks; idempotent. Asked before the actor is attached, it
        takes effect as soon as it is.
        """
        if self.mailbox is not None:
            self.mailbox.close()
        else:
            self._stop_requested = True

    def send_nowait(self, message: dict[str, Any]) -> bool:
        """Deliver a message to this actor's own mailbox (policy applies)."""
        if self.mailbox is None:
            raise RuntimeError(f"{type(self).__name__} is not running.")
        return self.mailbox.send_nowait(message)

    def statistics(self) -> ActorStatistics:
        """Return a snapshot of this actor."""
        return ActorStatistics(
            address=self.address,
            actor_class=type(self).__qualname__,
            handled=self._handled,
            mailbox=self.mailbox.statistics() if self.mailbox is not None else None,
        )

    def __repr__(self) -> str:
        depth = len(self.mailbox) if self.mailbox is not None else math.nan
        return f"<{type(self).__qualname__} {self.address or '(not running)'} depth={depth}>"


reserve_handler_names(Actor)
