"""Shard: one Redis server as the layer uses it — bounded commands, health, blocking pops.

Every command runs under ``send_timeout``: a stalled server (SIGSTOP, ``DEBUG
SLEEP``) costs the caller that long at most, then a
:class:`~callboard.exceptions.LayerUnavailableError` naming the host. A
failure marks the shard *down*: later calls fail at once instead of each
waiting out the timeout, until the shard's owner reconnects it
(:meth:`Shard.probe`). A blocking pop holds a connection of its own, so it
can be woken (``CLIENT UNBLOCK``) and so a cancelled pop never loses what
the server had already handed over.

Not here: the reconnect loop that owns a shard (``_redis_state``).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

import anyio
import attrs

from callboard.actors._ratelog import RateLimitedLog
from callboard.exceptions import LayerUnavailableError

from ._redis_config import RedisOptions
from ._redis_hosts import RedisHost, cluster_hint
from ._redis_stats import LatencyHistogram

if TYPE_CHECKING:
    import coredis
    from coredis.commands.script import Script

__all__ = ["Popped", "Shard", "open_shard", "unwrap_group"]

logger = logging.getLogger("callboard.layers.redis")
_ratelog = RateLimitedLog(logger)

T = TypeVar("T")

Popped = tuple[bytes, bytes, float]
"""What a blocking pop returns: (queue key, envelope, score)."""

_SCRIPTS: dict[str, Script[bytes]] = {}


def script(text: str) -> Script[bytes]:
    """Return the (unbound, cached) coredis Script for ``text``."""
    found = _SCRIPTS.get(text)
    if found is None:
        from coredis.commands.script import Script

        found = _SCRIPTS[text] = Script(None, text)
    return found


def unwrap_group(exc: BaseException) -> BaseException:
    """Return the one exception inside nested single-exception groups, else ``exc``."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _is_failure(exc: BaseException) -> bool:
    from coredis.exceptions import ConnectionError as RedisConnectionError

    return isinstance(exc, TimeoutError | OSError | RedisConnectionError | LayerUnavailableError)


def describe_failure(
    host: RedisHost, operation: str, exc: BaseException, timeout: float
) -> LayerUnavailableError:
    """Translate what coredis or the network raised into a clear, host-naming error."""
    from coredis.exceptions import AuthenticationError, AuthorizationError

    exc = unwrap_group(exc)
    if isinstance(exc, LayerUnavailableError):
        return exc
    name = f"{host.label} (hosts[{host.index}])"
    if isinstance(exc, AuthenticationError | AuthorizationError):
        return LayerUnavailableError(
            name,
            operation,
            f"refused our credentials ({exc})",
            "Check the username and password in CHANNEL_LAYERS hosts.",
        )
    if isinstance(exc, TimeoutError):
        return LayerUnavailableError(
            name,
            operation,
            f"did not answer within {timeout:g} s",
            "Is it stalled or overloaded? send_timeout and connect_timeout bound every wait.",
        )
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    return LayerUnavailableError(
        name,
        operation,
        f"could not be reached ({cause})",
        "Check that redis-server runs there and that CHANNEL_LAYERS hosts is right.",
    )


@attrs.define(eq=False)
class Shard:
    """One Redis server of the layer, connected through a coredis client its owner opened.

    Args:
        host: which server.
        options: the layer's Redis options (timeouts).
        client: the coredis client; its connection pool lives as long as the
            owner's ``async with``.
    """

    host: RedisHost
    options: RedisOptions
    client: coredis.Redis[bytes]
    healthy: bool = True
    down_since: float | None = None
    down_reason: str = ""
    disconnects: int = 0
    run_id: str | None = None
    round_trips: LatencyHistogram | None = None
    """Where command durations are counted (the layer's), if anywhere."""
    _blocked_clients: set[int] = attrs.field(factory=set, init=False)
    """Connections blocked in a pop now: the inbox reader's, and general-channel receives'."""
    _on_down: Callable[[Shard], None] | None = attrs.field(default=None, init=False)

    @property
    def index(self) -> int:
        """The shard number (position in ``hosts``)."""
        return self.host.index

    def on_down(self, callback: Callable[[Shard], None]) -> None:
        """Call ``callback(shard)`` whenever the shard goes from up to down."""
        self._on_down = callback

    # -- health --------------------------------------------------------------------

    def mark_down(self, error: LayerUnavailableError) -> None:
        """Record that the server failed; later calls fail fast until :meth:`mark_up`."""
        if not self.healthy:
            return
        self.healthy = False
        self.down_since = time.monotonic()
        self.down_reason = error.reason
        self.disconnects += 1
        logger.warning(
            "Redis at %s (hosts[%d]) is unavailable: %s. Reconnecting with backoff.",
            self.host.label,
            self.index,
            error.reason,
        )
        if self._on_down is not None:
            self._on_down(self)

    def mark_up(self) -> float:
        """Record that the server answers again; return how long it was down (seconds)."""
        was = self.down_since
        self.healthy, self.down_since, self.down_reason = True, None, ""
        return 0.0 if was is None else time.monotonic() - was

    def _refuse(self, operation: str) -> LayerUnavailableError:
        since = 0.0 if self.down_since is None else time.monotonic() - self.down_since
        return LayerUnavailableError(
            f"{self.host.label} (hosts[{self.index}])",
            operation,
            f"has been unavailable for {since:.1f} s ({self.down_reason})",
            "The layer is reconnecting with backoff; retry later.",
        )

    # -- commands ------------------------------------------------------------------

    async def call(
        self, operation: str, command: Callable[[coredis.Redis[bytes]], Awaitable[T]]
    ) -> T:
        """Run one command (or script) within ``send_timeout``.

        Raises:
            LayerUnavailableError: the shard is down, or the command failed or
                timed out (the shard is then marked down).
        """
        if not self.healthy:
            raise self._refuse(operation)
        timeout = self.options.send_timeout
        started = time.perf_counter()
        try:
            with anyio.fail_after(timeout):
                result = await command(self.client)
            if self.round_trips is not None:
                self.round_trips.observe(time.perf_counter() - started)
            return result
        except Exception as exc:
            failure = unwrap_group(exc)
            if _is_out_of_memory(failure):  # it answers: not down, but takes nothing more
                raise LayerUnavailableError(
                    f"{self.host.label} (hosts[{self.index}])",
                    operation,
                    f"is out of memory ({str(failure).split('.')[0]})",
                    "Raise its maxmemory, or lower expiry and capacity: queues of clients "
                    "that do not read fill it.",
                ) from exc
            if not _is_failure(failure):
                raise
            error = describe_failure(self.host, operation, exc, timeout)
            self.mark_down(error)
            raise error from exc

    async def run_script(
        self, operation: str, text: str, keys: Sequence[str | bytes], args: Sequence[Any]
    ) -> Any:
        """Run a Lua script from ``_redis_scripts`` (loaded on first use, again after a restart)."""
        runnable = script(text)
        return await self.call(
            operation, lambda client: runnable(keys=list(keys), args=list(args), client=client)
        )

    async def zrem(self, operation: str, key: str, members: Sequence[str | bytes]) -> int:
        """Remove ``members`` from the sorted set ``key`` (bounded as :meth:`call`)."""

        async def command(client: coredis.Redis[bytes]) -> int:
            return await client.zrem(key, list(members))

        return await self.call(operation, command)

    async def scan_delete(self, operation: str, pattern: str) -> int:
        """Delete every key matching ``pattern`` (``SCAN`` + ``UNLINK``); return how many."""
        cursor: int | None = 0
        deleted = 0
        while True:

            async def scan(client: coredis.Redis[bytes], at: int | None = cursor) -> Any:
                return await client.scan(cursor=at, match=pattern, count=1000)

            cursor, keys = await self.call(operation, scan)
            if keys:
                deleted += await self.call(operation, functools.partial(_unlink, list(keys)))
            if not cursor:
                return deleted

    async def probe(self) -> bool:
        """Check the server answers (``PING`` and ``INFO server``) and mark the shard up.

        Returns:
            Whether the server restarted since the last probe (its ``run_id`` changed).

        Raises:
            LayerUnavailableError: it does not answer, refuses our credentials,
                or is a Redis Cluster node (not supported).
        """
        timeout = self.options.connect_timeout
        try:
            with anyio.fail_after(timeout):
                await self.client.ping()
                info = await self.client.info("server")
        except Exception as exc:
            if not _is_failure(unwrap_group(exc)) and not _is_auth(exc):
                raise
            raise describe_failure(self.host, "connect", exc, timeout) from exc
        if info.get("redis_mode") == "cluster":
            raise LayerUnavailableError(
                f"{self.host.label} (hosts[{self.index}])",
                "connect",
                "is a Cluster node",
                cluster_hint(),
            )
        run_id = str(info.get("run_id", ""))
        restarted = self.run_id is not None and run_id != self.run_id
        self.run_id = run_id
        return restarted

    # -- blocking pops -------------------------------------------------------------

    async def blocking_pop(
        self,
        operation: str,
        keys: Sequence[str],
        on_late: Callable[[Popped], Awaitable[None]],
    ) -> Popped | None:
        """Wait up to ``block_timeout`` for the oldest message of any of ``keys`` (``BZPOPMIN``).

        Args:
            operation: for errors.
            keys: the queues, on this shard.
            on_late: given a message that the server handed over after this
                call was cancelled, under a shielded ``send_timeout`` deadline;
                it must put it somewhere (back in its queue, or deliver it).

        Returns:
            The popped (key, envelope, score), or ``None`` if nothing came in time
            (or :meth:`wake` woke it).

        Raises:
            LayerUnavailableError: as :meth:`call`.

        Cancellation: the server is told to stop blocking (``CLIENT UNBLOCK``);
        a message it had already handed over goes to ``on_late``: nothing is lost.
        """
        if not self.healthy:
            raise self._refuse(operation)
        block = self.options.block_timeout
        pool = self.client.connection_pool
        try:
            with anyio.fail_after(self.options.connect_timeout):
                connection = await pool.get_connection()
        except Exception as exc:
            if not _is_failure(unwrap_group(exc)):
                raise
            error = describe_failure(self.host, operation, exc, self.options.connect_timeout)
            self.mark_down(error)
            raise error from exc
        try:
            request = connection.create_request(
                b"BZPOPMIN", *keys, block, decode=False, timeout=block + self.options.send_timeout
            )
            client_id = connection.client_id
            if client_id is not None:
                self._blocked_clients.add(client_id)
            try:
                reply = await request
            except anyio.get_cancelled_exc_class():
                settled = False
                with anyio.move_on_after(self.options.send_timeout, shield=True):
                    await self._unblock(connection.client_id)
                    try:
                        late = _popped(await request)
                    except Exception as exc:  # the connection went down with the cancellation
                        logger.debug("A cancelled pop on %s ended with %r.", self.host.label, exc)
                    else:
                        if late is not None:
                            await on_late(late)
                        settled = True
                if not settled:  # the server never answered: nothing can be trusted on it
                    connection.invalidate()
                raise
            except Exception as exc:
                connection.invalidate()
                if not _is_failure(unwrap_group(exc)):
                    raise
                error = describe_failure(
                    self.host, operation, exc, block + self.options.send_timeout
                )
                self.mark_down(error)
                raise error from exc
            return _popped(reply)
        finally:
            if connection.client_id is not None:
                self._blocked_clients.discard(connection.client_id)
            pool.release(connection)

    async def _unblock(self, client_id: int | None) -> None:
        if client_id is None:
            return
        try:
            await self.client.client_unblock(client_id)
        except Exception as exc:  # the pop then ends by its own timeout
            logger.debug("CLIENT UNBLOCK on %s failed: %s", self.host.label, exc)

    async def wake(self) -> None:
        """End the blocking pops waiting now (each returns ``None``); bounded by ``send_timeout``.

        A pop whose receive still wants a message is simply issued again.
        """
        with anyio.move_on_after(self.options.send_timeout):
            for client_id in list(self._blocked_clients):
                await self._unblock(client_id)


async def _unlink(keys: list[bytes], client: coredis.Redis[bytes]) -> int:
    return await client.unlink(keys)


def _is_out_of_memory(exc: BaseException) -> bool:
    """Whether Redis refused a write because ``maxmemory`` is reached (``noeviction``)."""
    from coredis.exceptions import ResponseError

    return isinstance(exc, ResponseError) and str(exc).startswith("OOM ")


def _is_auth(exc: BaseException) -> bool:
    from coredis.exceptions import AuthenticationError, AuthorizationError

    return isinstance(unwrap_group(exc), AuthenticationError | AuthorizationError)


def _popped(reply: object) -> Popped | None:
    if reply is None:
        return None
    items = cast("list[Any]", reply)
    key, member, score = items[0], items[1], items[2]
    return (
        key if isinstance(key, bytes) else str(key).encode(),
        bytes(member),
        float(score),
    )


@asynccontextmanager
async def open_shard(
    host: RedisHost, options: RedisOptions, round_trips: LatencyHistogram | None = None
) -> AsyncIterator[Shard]:
    """Connect to ``host`` for the block and yield it as a :class:`Shard`.

    ``round_trips``, when given, counts how long each command takes.

    Lifetime: the coredis client (and its connection pool's tasks) lives as
    long as the block.

    Raises:
        LayerUnavailableError: the first connection failed (wrong address or
            password, server down or stalled), naming the host.
    """
    try:
        async with host.client() as client:
            shard = Shard(host=host, options=options, client=client, round_trips=round_trips)
            await shard.probe()
            yield shard
    except BaseExceptionGroup as group:
        sole = unwrap_group(group)
        if sole is not group and isinstance(sole, Exception):
            raise sole from None
        raise


def log_rate_limited(level: int, key: str, msg: str, *args: object) -> None:
    """Log through the Redis layers' rate limiter (drops, losses: at most one per interval)."""
    _ratelog.log(level, key, msg, *args)
