"""Per-loop state of a Redis layer: its connections and background tasks, and who owns them.

A Redis layer object holds configuration only. What runs — a connection pool
per shard, the inbox reader, the reconnect loops, the membership refresh —
lives in a :class:`LoopState`, one per event loop, kept in the runtime's
``extras``. Every task it starts sits in the task group of its
:meth:`LoopState.run`, and that runs under a visible owner:

- ``async with layer.open():`` — the block owns it (tests, scripts, workers);
- the server's root supervisor (``callboard serve``): the first call that
  needs it starts it there as a temporary child; on shutdown it keeps
  serving until every enrolled connection has ended (their disconnect
  handlers still call ``group_discard``), then stops.

Without either, a call that needs receiving raises
:class:`~callboard.exceptions.LayerNotOpenError`; a plain send uses a
short-lived connection of its own instead.

Not here: what the readers do (``_redis_inbox``, ``_redis_pubsub``).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any, ClassVar

import anyio
import attrs
from anyio.abc import TaskGroup, TaskStatus

from callboard.actors import (
    ChildSpec,
    Mailbox,
    OverflowPolicy,
    Registry,
    RestartType,
    Supervisor,
    current_runtime,
    non_local_name,
    process_name,
)
from callboard.exceptions import InvalidChannelLayerError, LayerNotOpenError, LayerUnavailableError

from ._redis_shard import Shard, open_shard, unwrap_group

if TYPE_CHECKING:
    from ._redis_layer import RedisLayerBase

__all__ = ["LoopState", "current_state", "open_state", "require_state"]

logger = logging.getLogger("callboard.layers.redis")

_receiving: dict[tuple[Any, ...], int] = {}
_receiving_lock = threading.Lock()


def is_local(channel: str) -> bool:
    """Whether ``channel`` names a mailbox of this process (``<prefix>.<process>!...``)."""
    bang = channel.find("!")
    return bang > 0 and channel[:bang].endswith("." + process_name())


@attrs.define(eq=False)
class LoopState:
    """What one Redis layer runs in one event loop. Built and run by :func:`open_state`.

    Subclasses add the readers (``_start_readers``) and what to redo after a
    reconnection (``_restore``).
    """

    kind: ClassVar[str] = "redis"

    layer: RedisLayerBase
    registry: Registry
    shards: list[Shard] = attrs.field(factory=list, init=False)
    memberships: dict[str, dict[str, None]] = attrs.field(factory=dict, init=False)
    """Groups of this process's channels, as this loop added them (restored on reconnect)."""
    pending_discards: set[tuple[str, str]] = attrs.field(factory=set, init=False)
    issued: set[str] = attrs.field(factory=set, init=False)
    """Names new_channel() made: they get a layer-owned mailbox on demand."""
    owned: dict[str, Mailbox] = attrs.field(factory=dict, init=False)
    running: bool = attrs.field(default=False, init=False)
    _stop: anyio.Event = attrs.field(factory=anyio.Event, init=False)
    _task_group: TaskGroup | None = attrs.field(default=None, init=False)
    _supervisor: Supervisor | None = attrs.field(default=None, init=False)
    _outage_base: dict[int, tuple[int, int, int]] = attrs.field(factory=dict, init=False)
    _down: dict[int, anyio.Event] = attrs.field(factory=dict, init=False)
    _up: dict[int, anyio.Event] = attrs.field(factory=dict, init=False)

    # -- life ------------------------------------------------------------------------

    @property
    def _guard_key(self) -> tuple[Any, ...]:
        return (self.kind, self.layer.options.prefix, tuple(h.label for h in self.layer.hosts))

    async def run(self, *, task_status: TaskStatus[LoopState] = anyio.TASK_STATUS_IGNORED) -> None:
        """Connect every shard, start the background tasks, serve until asked to stop.

        Follows the ``nursery.start`` protocol: started once every shard
        answered and every reader is reading.

        Raises:
            LayerUnavailableError: a shard could not be reached at start-up
                (wrong address or password, server down), naming it.
            InvalidChannelLayerError: another event loop of this process
                already receives from this layer.
        """
        key = self._guard_key
        with _receiving_lock:
            if key in _receiving:
                raise InvalidChannelLayerError(
                    f"Another event loop in this process already runs {type(self.layer).__name__} "
                    f"(prefix {self.layer.options.prefix!r}). Channel names name the process, not "
                    "the loop, so two loops would take each other's messages: open it in one loop."
                )
            _receiving[key] = threading.get_ident()
        runtime = current_runtime()
        extras_key = self.layer.state_key
        try:
            async with AsyncExitStack() as stack:
                for host in self.layer.hosts:
                    shard = await stack.enter_async_context(
                        open_shard(host, self.layer.options, self.layer.counters.round_trips)
                    )
                    shard.on_down(self._shard_down)
                    self.shards.append(shard)
                    self._up[shard.index] = anyio.Event()
                    self._up[shard.index].set()
                    self._down[shard.index] = anyio.Event()
                async with anyio.create_task_group() as task_group:
                    self._task_group = task_group
                    for shard in self.shards:
                        task_group.start_soon(self._keep_connected, shard)
                    await self._start_readers(task_group)
                    task_group.start_soon(self._refresh_loop)
                    self.running = True
                    runtime.extras[extras_key] = self
                    task_status.started(self)
                    await self._stop.wait()
                    await self._drain()
                    task_group.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            sole = unwrap_group(group)
            if sole is not group and isinstance(sole, Exception):
                raise sole from None
            raise
        finally:
            self.running = False
            if runtime.extras.get(extras_key) is self:
                del runtime.extras[extras_key]
            with _receiving_lock:
                _receiving.pop(key, None)
            for name, mailbox in list(self.owned.items()):
                if self.registry.lookup(name) is mailbox:
                    self.registry.unregister(name)
            self.owned.clear()

    def request_stop(self) -> None:
        """Begin a graceful stop (never blocks; idempotent)."""
        self._stop.set()

    async def _drain(self) -> None:
        if self._supervisor is not None:
            # Connections still close (their disconnect handlers use the layer).
            await self._supervisor.wait_enrolled_ended()
        await self._stop_readers()
        await self._release_memberships()

    async def _release_memberships(self) -> None:
        """Remove this loop's remaining memberships from Redis (bounded; counted if it fails)."""
        by_group = {g: list(m) for g, m in self.memberships.items() if m}
        self.memberships.clear()
        for group, channels in by_group.items():
            shard = self.shards[self.layer.group_shard(group)]
            try:
                await shard.zrem("group_discard", self.layer.group_key(group), channels)
            except LayerUnavailableError:
                logger.info(
                    "Could not remove %d member(s) of group %r on close.", len(channels), group
                )

    # -- shards going down and coming back ------------------------------------------

    def _shard_down(self, shard: Shard) -> None:
        counters = self.layer.counters
        counters.disconnects += 1
        self._outage_base[shard.index] = (
            counters.failed_sends,
            counters.lost_group_sends,
            counters.deferred_membership_changes,
        )
        self._up[shard.index] = anyio.Event()
        self._down[shard.index].set()

    async def wait_up(self, shard: Shard) -> None:
        """Return once ``shard`` is available (at once if it is)."""
        await self._up[shard.index].wait()

    async def _keep_connected(self, shard: Shard) -> None:
        options = self.layer.options
        while True:
            await self._down[shard.index].wait()
            delay = options.reconnect_interval
            while True:
                await anyio.sleep(delay * random.uniform(0.5, 1.0))
                try:
                    restarted = await shard.probe()
                except LayerUnavailableError as exc:
                    logger.info("Reconnecting to Redis at %s: %s", shard.host.label, exc.reason)
                    delay = min(delay * 2, options.reconnect_max_interval)
                    continue
                outage = shard.mark_up()
                try:
                    await self._restore(shard, restarted)
                except LayerUnavailableError:
                    continue  # down again: mark_down ran; try anew
                break
            self._down[shard.index] = anyio.Event()
            self._up[shard.index].set()
            self._report_reconnect(shard, outage, restarted)

    def _report_reconnect(self, shard: Shard, outage: float, restarted: bool) -> None:
        counters = self.layer.counters
        counters.reconnects += 1
        failed, lost, deferred = self._outage_base.pop(shard.index, (0, 0, 0))
        if restarted:
            counters.server_restarts += 1
        logger.warning(
            "Redis at %s is back after %.1f s%s. During the outage this process failed %d "
            "send(s), lost %d group message(s) and deferred %d membership change(s) (now "
            "applied).",
            shard.host.label,
            outage,
            " (it restarted: messages queued in it were lost)" if restarted else "",
            counters.failed_sends - failed,
            counters.lost_group_sends - lost,
            counters.deferred_membership_changes - deferred,
        )

    async def _restore(self, shard: Shard, restarted: bool) -> None:
        """Redo what a reconnection may have lost on ``shard``: memberships, then the readers'."""
        for group, channel in list(self.pending_discards):
            if self.layer.group_shard(group) == shard.index:
                await shard.zrem("group_discard", self.layer.group_key(group), [channel])
                self.pending_discards.discard((group, channel))
        restored = 0
        for group, channels in list(self.memberships.items()):
            if channels and self.layer.group_shard(group) == shard.index:
                restored += await self.layer.add_members(shard, group, list(channels))
        self.layer.counters.memberships_restored += restored
        await self._restore_readers(shard)

    # -- memberships ---------------------------------------------------------------

    def record_membership(self, group: str, channel: str) -> None:
        """Remember that this process's ``channel`` is in ``group`` (for restoring)."""
        self.memberships.setdefault(group, {})[channel] = None
        self.pending_discards.discard((group, channel))

    def forget_membership(self, group: str, channel: str) -> None:
        """Forget a membership recorded with :meth:`record_membership`."""
        members = self.memberships.get(group)
        if members is not None:
            members.pop(channel, None)
            if not members:
                del self.memberships[group]

    def alive(self, channel: str) -> bool:
        """Whether this process's ``channel`` has an open mailbox (its actor runs)."""
        mailbox = self.registry.lookup(channel)
        return mailbox is not None and not mailbox.closed

    async def _refresh_loop(self) -> None:
        interval = self.layer.options.refresh_interval(self.layer.config.group_expiry)
        while True:
            await anyio.sleep(interval)
            await self.refresh()

    async def refresh(self) -> None:
        """Renew live memberships, drop ended members' ones, find new inbox prefixes."""
        for group, channels in list(self.memberships.items()):
            ended = [c for c in channels if not self.alive(c) and c not in self.issued]
            for channel in ended:
                self.forget_membership(group, channel)
            shard = self.shards[self.layer.group_shard(group)]
            try:
                if ended:
                    await shard.zrem("group_discard", self.layer.group_key(group), ended)
                live = list(self.memberships.get(group, ()))
                if live:
                    await self.layer.add_members(shard, group, live)
            except LayerUnavailableError:
                continue  # the reconnect restores them
        prefix = "." + process_name() + "!"
        for address in self.registry.addresses():
            if prefix in address:
                self.watch_inbox(non_local_name(address))

    # -- layer-owned channels --------------------------------------------------------

    def owned_mailbox(self, channel: str) -> Mailbox | None:
        """Return the mailbox at ``channel``: an actor's, or a layer-owned new_channel one."""
        mailbox = self.registry.lookup(channel)
        if mailbox is not None or channel not in self.issued:
            return mailbox
        config = self.layer.config
        mailbox = self.registry.register(
            channel, capacity=config.capacity_for(channel), policy=OverflowPolicy.REJECT
        )
        self.owned[channel] = mailbox
        return mailbox

    # -- for subclasses --------------------------------------------------------------

    async def _start_readers(self, task_group: TaskGroup) -> None:
        """Start the readers in ``task_group``; return once they read."""

    async def _stop_readers(self) -> None:
        """Make the readers finish (they may deliver what they hold)."""

    async def _restore_readers(self, shard: Shard) -> None:
        """Redo the readers' state on ``shard`` after a reconnection."""

    def watch_inbox(self, inbox: str) -> None:
        """Make sure the readers read the inbox of ``inbox`` (a non-local name of this process)."""

    def inbox_count(self) -> int:
        """How many inbox queues (or subscriptions) the readers read."""
        return 0

    def present_count(self) -> int:
        """How many present members this loop keeps (layers with presence)."""
        return 0


def current_state(layer: RedisLayerBase) -> LoopState | None:
    """Return the layer's running state in this event loop, or ``None``."""
    state: LoopState | None = current_runtime().extras.get(layer.state_key)
    return state if state is not None and state.running else None


async def require_state(layer: RedisLayerBase, operation: str) -> LoopState:
    """Return the layer's state in this loop, starting it under the root supervisor if needed.

    Raises:
        LayerNotOpenError: nothing runs it here and there is no root supervisor.
        LayerUnavailableError: starting it failed to reach a shard.
    """
    state = current_state(layer)
    if state is not None:
        return state
    runtime = current_runtime()
    supervisor = runtime.supervisor
    starting_key = layer.state_key + ":starting"
    while True:
        starting: anyio.Event | None = runtime.extras.get(starting_key)
        if starting is None:
            break
        await starting.wait()
        state = current_state(layer)
        if state is not None:
            return state
    if supervisor is None:
        raise LayerNotOpenError(type(layer).__name__, operation)
    runtime.extras[starting_key] = done = anyio.Event()
    try:
        fresh = layer.make_state(runtime.registry)
        fresh._supervisor = supervisor
        spec = ChildSpec(
            name=f"{type(layer).__name__}-{id(layer):x}",
            start=lambda: _StateChild(fresh),
            restart=RestartType.TEMPORARY,
        )
        try:
            await supervisor.start_child(spec)
        except RuntimeError as exc:  # the supervisor is stopping
            raise LayerNotOpenError(type(layer).__name__, operation) from exc
        except BaseExceptionGroup as group:  # the start's task groups wrap its one error
            sole = unwrap_group(group)
            if sole is not group and isinstance(sole, Exception):
                raise sole from None  # LayerUnavailableError, as documented
            raise
        return fresh
    finally:
        del runtime.extras[starting_key]
        done.set()


@attrs.define(eq=False)
class _StateChild:
    """A :class:`LoopState` as a supervisor's child."""

    state: LoopState

    @property
    def name(self) -> str:
        return type(self.state.layer).__name__

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        async with anyio.create_task_group() as task_group:
            await task_group.start(self.state.run)
            task_status.started()

    def request_stop(self) -> None:
        self.state.request_stop()


@asynccontextmanager
async def open_state(layer: RedisLayerBase) -> AsyncIterator[LoopState]:
    """Run the layer's state in this event loop for the ``async with`` block.

    Raises:
        InvalidChannelLayerError: the layer already runs in this loop.
        LayerUnavailableError: a shard could not be reached at start-up.

    Lifetime: the block owns every background task; on leaving it the
    readers stop, this loop's remaining memberships are removed from Redis
    and the connections close. An exception from the block surfaces as itself,
    not in a group.
    """
    if current_state(layer) is not None:
        raise InvalidChannelLayerError(
            f"{type(layer).__name__} is already open in this event loop; open it once."
        )
    state = layer.make_state(current_runtime().registry)
    try:
        async with anyio.create_task_group() as task_group:
            await task_group.start(state.run)
            try:
                yield state
            finally:
                state.request_stop()
    except BaseExceptionGroup as group:
        sole = unwrap_group(group)
        if sole is not group and isinstance(sole, Exception):
            raise sole from None
        raise
