"""Redis hosts: parsing channels_redis' ``hosts`` setting, sharding, and building clients.

``hosts`` is a list whose entries are URL strings (``"redis://:pw@host:6379/0"``),
``(host, port)`` pairs, dicts of connection options (``{"address": url, ...}`` or
``{"host": ..., "port": ...}``), or Sentinel dicts (``{"master_name": ...,
"sentinels": [(host, port), ...]}``), as channels_redis accepts them. With
several hosts, keys are sharded by channels_redis' consistent hash, so both
libraries pick the same shard for the same key.

Not here: what runs on a shard (``_redis_shard``).
"""

from __future__ import annotations

import binascii
import importlib.util
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit, urlunsplit

import attrs

from callboard.exceptions import InvalidChannelLayerError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import coredis

__all__ = ["DEFAULT_HOST", "RedisHost", "consistent_hash", "parse_hosts", "require_coredis"]

DEFAULT_HOST: Final = "redis://localhost:6379"
"""channels_redis' default when ``hosts`` is empty."""

_RENAMED: Final = {
    "socket_timeout": "stream_timeout",
    "socket_connect_timeout": "connect_timeout",
}
"""redis-py option names (what channels_redis passes on) and coredis' names for them."""

_CLUSTER_HINT: Final = (
    "Redis Cluster is not supported: the layer's scripts touch several keys in one call "
    "(a group fan-out writes every receiving process's inbox at once) and Cluster refuses "
    "that unless every key shares a hash slot, which channels_redis' key names do not. "
    "Use standalone Redis or Sentinel, and list several hosts to shard."
)


def require_coredis() -> None:
    """Check that the ``redis`` extra is installed.

    Raises:
        InvalidChannelLayerError: coredis or msgpack is missing, naming the extra.
    """
    missing = [name for name in ("coredis", "msgpack") if importlib.util.find_spec(name) is None]
    if missing:
        raise InvalidChannelLayerError(
            f"The Redis channel layers need {' and '.join(missing)}: "
            "install them with `pip install 'callboard[redis]'`."
        )


def consistent_hash(value: str | bytes, ring_size: int) -> int:
    """Map a name to one of ``ring_size`` shards exactly as channels_redis does.

    CRC32 of the UTF-8 bytes, masked to 12 bits, scaled onto the ring.
    """
    if ring_size == 1:
        return 0
    data = value.encode("utf8") if isinstance(value, str) else value
    bigval = binascii.crc32(data) & 0xFFF
    return int(bigval / (4096 / float(ring_size)))


def _mask(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@attrs.frozen(kw_only=True)
class RedisHost:
    """One entry of ``hosts``, checked and normalised.

    Attributes:
        index: its position in ``hosts`` (its shard number).
        label: how errors and logs name it, password masked.
        url: the URL for a URL entry, else ``None``.
        options: coredis keyword arguments (host, port, db, password ...).
        master_name: the Sentinel service name, for a Sentinel entry.
        sentinels: the Sentinel nodes, for a Sentinel entry.
        sentinel_options: options for connecting to the Sentinel nodes themselves.
    """

    index: int
    label: str
    url: str | None = None
    options: Mapping[str, Any] = attrs.field(factory=dict)
    master_name: str | None = None
    sentinels: tuple[tuple[str, int], ...] = ()
    sentinel_options: Mapping[str, Any] = attrs.field(factory=dict)

    def client(self) -> AbstractAsyncContextManager[coredis.Redis[bytes]]:
        """Return an async context manager yielding a connected-on-demand coredis client.

        Lifetime: the client's connection pool runs in a task group the
        ``async with`` owns; leaving it closes every connection.
        """
        return _open_client(self)


@asynccontextmanager
async def _open_client(host: RedisHost) -> AsyncIterator[coredis.Redis[bytes]]:
    import coredis
    from coredis.retry import NoRetryPolicy

    options = dict(host.options)
    # The layer retries on its own terms (backoff, counting); no silent retries below it.
    options.setdefault("retry_policy", NoRetryPolicy())
    async with AsyncExitStack() as stack:
        client: coredis.Redis[bytes]
        if host.master_name is not None:
            from coredis.connection import TCPLocation

            sentinel = await stack.enter_async_context(
                coredis.Sentinel(
                    [TCPLocation(h, p) for h, p in host.sentinels],
                    sentinel_kwargs=dict(host.sentinel_options) or None,
                    **{k: v for k, v in options.items() if k != "retry_policy"},
                )
            )
            client = sentinel.primary_for(host.master_name)
        elif host.url is not None:
            client = coredis.Redis.from_url(host.url, **options)
        else:
            client = coredis.Redis(**options)
        yield await stack.enter_async_context(client)


def _options(where: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            raise InvalidChannelLayerError(f"{where}: option names must be str, got {key!r}.")
        if key in ("cluster", "cluster_mode", "startup_nodes"):
            raise InvalidChannelLayerError(f"{where}: {_CLUSTER_HINT}")
        options[_RENAMED.get(key, key)] = value
    return options


def _check_constructs(host: RedisHost) -> RedisHost:
    """Build (without connecting) the client ``host`` describes, so a bad option fails now."""
    import coredis
    from coredis.connection import TCPLocation

    try:
        if host.master_name is not None:
            coredis.Sentinel([TCPLocation(h, p) for h, p in host.sentinels], **dict(host.options))
        elif host.url is not None:
            coredis.Redis.from_url(host.url, **dict(host.options))
        else:
            coredis.Redis(**dict(host.options))
    except (TypeError, ValueError) as exc:
        raise InvalidChannelLayerError(
            f"hosts[{host.index}] ({host.label}) has an option coredis does not accept: {exc}"
        ) from exc
    return host


def _url_host(index: int, url: str, extra: Mapping[str, Any]) -> RedisHost:
    where = f"hosts[{index}]"
    scheme = urlsplit(url).scheme
    if "cluster" in scheme:
        raise InvalidChannelLayerError(f"{where} ({_mask(url)}): {_CLUSTER_HINT}")
    if scheme not in ("redis", "rediss", "unix"):
        raise InvalidChannelLayerError(
            f"{where} is {_mask(url)!r}: a Redis URL starts with redis://, rediss:// or unix://, "
            "like 'redis://localhost:6379/0'."
        )
    return RedisHost(index=index, label=_mask(url), url=url, options=_options(where, extra))


def _sentinel_host(index: int, entry: Mapping[str, Any]) -> RedisHost:
    where = f"hosts[{index}]"
    rest = dict(entry)
    master_name = rest.pop("master_name")
    sentinels = rest.pop("sentinels", None)
    sentinel_options = rest.pop("sentinel_kwargs", None) or {}
    if not isinstance(master_name, str) or not master_name:
        raise InvalidChannelLayerError(f"{where}: master_name must be a non-empty str.")
    if not isinstance(sentinels, Sequence) or isinstance(sentinels, str) or not sentinels:
        raise InvalidChannelLayerError(
            f"{where}: a Sentinel entry needs 'sentinels', a list of (host, port) pairs, "
            f"like [('sentinel1', 26379)]; got {sentinels!r}."
        )
    nodes = tuple(_pair(where, node) for node in sentinels)
    if not isinstance(sentinel_options, Mapping):
        raise InvalidChannelLayerError(f"{where}: sentinel_kwargs must be a mapping.")
    shown = ", ".join(f"{h}:{p}" for h, p in nodes)
    return RedisHost(
        index=index,
        label=f"sentinel {master_name!r} via {shown}",
        options=_options(where, rest),
        master_name=master_name,
        sentinels=nodes,
        sentinel_options=_options(f"{where} sentinel_kwargs", sentinel_options),
    )


def _pair(where: str, node: object) -> tuple[str, int]:
    if (
        isinstance(node, tuple | list)
        and len(node) == 2
        and isinstance(node[0], str)
        and isinstance(node[1], int)
    ):
        return node[0], node[1]
    raise InvalidChannelLayerError(f"{where}: expected a (host, port) pair, got {node!r}.")


def _parse_one(index: int, entry: object) -> RedisHost:
    where = f"hosts[{index}]"
    if isinstance(entry, str):
        return _url_host(index, entry, {})
    if isinstance(entry, tuple | list):
        host, port = _pair(where, entry)
        return RedisHost(
            index=index, label=f"redis://{host}:{port}", options={"host": host, "port": port}
        )
    if isinstance(entry, Mapping):
        if "master_name" in entry:
            return _sentinel_host(index, entry)
        rest = dict(entry)
        address = rest.pop("address", None)
        if address is not None:
            if not isinstance(address, str):
                raise InvalidChannelLayerError(f"{where}: address must be a URL str.")
            return _url_host(index, address, rest)
        options = _options(where, rest)
        label = f"redis://{options.get('host', 'localhost')}:{options.get('port', 6379)}"
        return RedisHost(index=index, label=label, options=options)
    raise InvalidChannelLayerError(
        f"{where} is {entry!r}: use a URL str, a (host, port) pair, or a dict of options."
    )


def parse_hosts(hosts: object) -> tuple[RedisHost, ...]:
    """Check and normalise channels_redis' ``hosts`` setting.

    Args:
        hosts: ``None`` or empty for ``redis://localhost:6379``; else a list of entries.

    Returns:
        One :class:`RedisHost` per shard, in order.

    Raises:
        InvalidChannelLayerError: ``hosts`` is a bare string, an entry has an
            unknown shape or option, or it asks for Redis Cluster (not supported).
    """
    if not hosts:
        return (RedisHost(index=0, label=DEFAULT_HOST, url=DEFAULT_HOST),)
    if isinstance(hosts, str | bytes):
        raise InvalidChannelLayerError(
            f"hosts must be a list of Redis hosts, even for one: write [{hosts!r}]."
        )
    if not isinstance(hosts, Sequence):
        raise InvalidChannelLayerError(f"hosts must be a list of Redis hosts, got {hosts!r}.")
    require_coredis()
    return tuple(_check_constructs(_parse_one(i, entry)) for i, entry in enumerate(hosts))


def cluster_hint() -> str:
    """The explanation given whenever Redis Cluster is asked for."""
    return _CLUSTER_HINT
