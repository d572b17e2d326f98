"""The inbox reader: one Redis queue per process, demultiplexed into this process's mailboxes.

Every channel of this process is ``<prefix>.<process>!<actor>``; its queue
is ``{prefix}<prefix>.<process>!`` (channels_redis' key for the non-local
name), so all of them share one queue: a group message for 500 members
here is one entry, naming the 500 in ``__asgi_channel__``. One reader per
shard takes batches with a script that moves them in flight, hands each
message to the named mailboxes (a direct put through the registry), and
acknowledges the batch with its next read. After a reconnection, a batch
whose reply never arrived is queued again; one that was delivered is
forgotten, so nothing is lost and nothing is delivered twice.

Not here: the layer API (``_redis_core``), general channels (``_redis_general``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import anyio
import attrs
from anyio.abc import TaskGroup, TaskStatus

from callboard.exceptions import LayerUnavailableError

from ._redis_envelope import EnvelopeError, split_routing
from ._redis_general import Acks, key_ttl
from ._redis_presence import PresenceKeeper
from ._redis_scripts import POP_BATCH, RECOVER
from ._redis_shard import Popped, Shard, log_rate_limited
from ._redis_state import LoopState, is_local

__all__ = ["CoreLoopState", "InboxReader"]

logger = logging.getLogger("callboard.layers.redis")


@attrs.define(eq=False)
class InboxReader:
    """Reads this process's inbox queues on one shard (a task of the state)."""

    state: CoreLoopState
    shard: Shard
    pending_batch: bool = False
    """A batch was moved in flight and its reply has not been handled (requeue on recovery)."""
    stopping: bool = False
    done: anyio.Event = attrs.field(factory=anyio.Event)

    def _keys(self) -> tuple[list[str], list[str]]:
        prefix = self.state.layer.options.prefix
        keys = [prefix + inbox for inbox in self.state.inboxes]
        return keys, [key + "$inflight" for key in keys]

    async def serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Read until :meth:`stop`; survive outages (the state reconnects the shard)."""
        try:
            task_status.started()
            while not self._stop_requested():
                if not self.shard.healthy:
                    await self.state.wait_up(self.shard)
                    continue
                try:
                    if await self._read_batch():
                        continue
                    if self._stop_requested():
                        break
                    keys, _ = self._keys()
                    popped = await self.shard.blocking_pop("inbox read", keys, self._late)
                except LayerUnavailableError:
                    continue
                if popped is not None:
                    self.deliver(popped)
            with anyio.move_on_after(self.state.layer.options.send_timeout, shield=True):
                with contextlib.suppress(LayerUnavailableError):  # else it expires on its own
                    await self.recover()  # acknowledge the last batch
        finally:
            self.done.set()

    def _stop_requested(self) -> bool:
        return self.stopping

    async def _read_batch(self) -> bool:
        keys, inflight = self._keys()
        options = self.state.layer.options
        ttl = key_ttl(options.inflight_timeout + self.state.layer.config.expiry)
        with anyio.CancelScope(shield=True):  # bounded by send_timeout
            self.pending_batch = True
            batch = await self.shard.run_script(
                "inbox read", POP_BATCH, keys + inflight, [options.inbox_batch, ttl]
            )
            entries: list[Popped] = [
                (keys[int(batch[i]) - 1].encode(), bytes(batch[i + 1]), float(batch[i + 2]))
                for i in range(0, len(batch), 3)
            ]
            entries.sort(key=lambda entry: entry[2])
            for entry in entries:
                self.deliver(entry)
            self.pending_batch = False
        return bool(entries)

    async def _late(self, popped: Popped) -> None:
        self.deliver(popped)

    async def recover(self) -> None:
        """Requeue an in-flight batch whose reply was lost, or forget a delivered one."""
        keys, inflight = self._keys()
        pairs = [k for pair in zip(keys, inflight, strict=True) for k in pair]
        requeue = self.pending_batch
        moved = await self.shard.run_script(
            "inbox recover", RECOVER, pairs, ["1" if requeue else "0"]
        )
        if requeue:
            self.state.layer.counters.inflight_requeued += int(moved)
        self.pending_batch = False

    async def stop(self) -> None:
        """Finish: the reader delivers what it holds and acknowledges it."""
        self.stopping = True
        await self.shard.wake()
        with anyio.move_on_after(self.state.layer.options.send_timeout):
            await self.done.wait()

    def deliver(self, popped: Popped) -> None:
        """Hand one envelope to the mailboxes it names (synchronous: a put per receiver)."""
        layer = self.state.layer
        counters = layer.counters
        key, envelope, score = popped
        if score < time.time() - layer.config.expiry:
            counters.expired += 1
            log_rate_limited(
                logging.WARNING,
                f"expired:{key!r}",
                "A message in this process's inbox %r expired unread (expiry %g s).",
                key,
                layer.config.expiry,
            )
            return
        try:
            message: dict[str, Any] = layer.envelopes.decode(envelope)
        except EnvelopeError as exc:
            counters.undecodable += 1
            log_rate_limited(
                logging.WARNING,
                f"undecodable:{key!r}",
                "Dropped an inbox message that could not be opened: %s (check "
                "symmetric_encryption_keys and serializer_format match every sender).",
                exc,
            )
            return
        names = split_routing(message)
        if not names:
            counters.undecodable += 1
            log_rate_limited(
                logging.WARNING,
                f"unrouted:{key!r}",
                "Dropped an inbox message without a %r field: nothing says who it is for.",
                "__asgi_channel__",
            )
            return
        deadline = layer.local_deadline(score)
        last = len(names) - 1
        for position, name in enumerate(names):
            if not is_local(name):
                counters.no_receiver += 1
                log_rate_limited(
                    logging.WARNING,
                    f"misrouted:{name}",
                    "A message for %r, a channel of another process, reached this one's inbox.",
                    name,
                )
                continue
            layer.deliver_local(name, message, deadline, copy=position != last)


@attrs.define(eq=False)
class CoreLoopState(LoopState):
    """The per-loop state of :class:`~callboard.layers.RedisChannelLayer`: readers and acks."""

    inboxes: dict[str, None] = attrs.field(factory=dict, init=False)
    """The non-local names of this process whose queues the readers read."""
    acks: Acks = attrs.field(factory=Acks, init=False)
    presence: PresenceKeeper = attrs.field(init=False)
    """This loop's present members and watched groups, and their heartbeat."""
    _readers: list[InboxReader] = attrs.field(factory=list, init=False)

    @presence.default
    def _make_presence(self) -> PresenceKeeper:
        return PresenceKeeper(self)

    async def _start_readers(self, task_group: TaskGroup) -> None:
        from callboard.actors import process_name

        self.inboxes[f"specific.{process_name()}!"] = None
        for shard in self.shards:
            reader = InboxReader(self, shard)
            self._readers.append(reader)
            await task_group.start(reader.serve)
        task_group.start_soon(self.acks.serve, self)
        task_group.start_soon(self.presence.serve)

    async def _stop_readers(self) -> None:
        with anyio.move_on_after(self.layer.options.send_timeout):
            await self.presence.release_all()
        for reader in self._readers:
            await reader.stop()
        with anyio.move_on_after(self.layer.options.send_timeout):
            await self.acks.flush(self)

    async def _restore_readers(self, shard: Shard) -> None:
        for reader in self._readers:
            if reader.shard is shard:
                await reader.recover()
        await self.presence.restore(shard)

    def watch_inbox(self, inbox: str) -> None:
        """Read ``inbox``'s queue too (a non-local name of this process with another prefix)."""
        if inbox in self.inboxes:
            return
        self.inboxes[inbox] = None
        task_group = self._task_group
        if task_group is not None:
            for reader in self._readers:  # re-issue their blocking pops with the new key
                task_group.start_soon(reader.shard.wake)

    def inbox_count(self) -> int:
        """How many inbox queues the readers read."""
        return len(self.inboxes)

    def present_count(self) -> int:
        """How many present members this loop keeps."""
        return self.presence.count()
