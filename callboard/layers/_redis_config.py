"""Redis layer configuration: channels_redis' options plus callboard's timeouts and intervals.

Every duration is float seconds, named ``*_timeout`` or ``*_interval``, and
documented in ``docs/redis.md``; nothing in the Redis layers waits on a
literal.

Not here: parsing ``hosts`` (``_redis_hosts``), the shared layer options
(``_config.LayerConfig``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs

from callboard.exceptions import InvalidChannelLayerError

from ._redis_hosts import RedisHost

__all__ = ["RedisOptions"]


def _positive(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or math.isnan(value)
        or value <= 0
    ):
        raise InvalidChannelLayerError(
            f"{attribute.name} must be a positive number of seconds, got {value!r}."
        )


def _prefix(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise InvalidChannelLayerError(f"prefix must be a str, got {value!r}.")


def _format(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in ("msgpack", "json"):
        raise InvalidChannelLayerError(
            f"serializer_format must be 'msgpack' or 'json' (channels_redis' formats), "
            f"got {value!r}."
        )


def _prefix_length(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 64:
        raise InvalidChannelLayerError(
            f"random_prefix_length must be an int from 0 to 64 (channels_redis uses 12), "
            f"got {value!r}."
        )


def _keys(value: object) -> tuple[str | bytes, ...]:
    if value is None:
        return ()
    if isinstance(value, str | bytes):
        raise InvalidChannelLayerError(
            "symmetric_encryption_keys must be a list of keys (the first encrypts, all "
            "decrypt), even for one: write [key]."
        )
    if not isinstance(value, Sequence) or not all(isinstance(k, str | bytes) for k in value):
        raise InvalidChannelLayerError(
            f"symmetric_encryption_keys must be a list of str or bytes keys, got {value!r}."
        )
    return tuple(value)


@attrs.frozen(kw_only=True)
class RedisOptions:
    """What the Redis layers add to :class:`~callboard.layers.LayerConfig`.

    Attributes:
        hosts: the shards, in order (see ``_redis_hosts.parse_hosts``).
        prefix: put before every key and pub/sub channel (channels_redis' ``"asgi"``).
        symmetric_encryption_keys: Fernet keys as channels_redis derives them;
            the first encrypts, any decrypts.
        serializer_format: ``"msgpack"`` (channels_redis' default) or ``"json"``.
        random_prefix_length: random bytes before each stored message, so equal
            messages stay distinct members of a sorted set (channels_redis: 12).
        send_timeout: how long any single Redis operation may take before the
            layer gives up on it (and on the server, until it answers again).
        connect_timeout: how long connecting (and authenticating) may take.
        block_timeout: how long one blocking pop waits on the server before
            it is re-issued.
        reconnect_interval: the first wait before reconnecting after a failure.
        reconnect_max_interval: the longest wait between reconnect attempts
            (the wait doubles up to it, with jitter).
        group_refresh_interval: how often this process re-adds its live
            members to their groups (renewing ``group_expiry``) and removes
            ended ones; ``None`` for a quarter of ``group_expiry``.
        inflight_timeout: a general-channel message popped but not acknowledged
            for this long belongs to a reader that died; it is queued again.
        inbox_batch: how many messages the inbox reader takes per round trip.
        presence_heartbeat_interval: how often this process renews the
            presence of its present members, and sweeps the groups it has
            members or watchers in for members of processes that stopped
            renewing (ghosts), announcing their leaving.
        presence_timeout: a present member not renewed for this long is gone:
            it is no longer listed, and the next sweep removes it. Must exceed
            ``presence_heartbeat_interval``. A crashed process's members
            vanish from listings within this, and are announced as gone
            within this plus one heartbeat interval.
    """

    hosts: tuple[RedisHost, ...]
    prefix: str = attrs.field(default="asgi", validator=_prefix)
    symmetric_encryption_keys: tuple[str | bytes, ...] = attrs.field(default=(), converter=_keys)
    serializer_format: str = attrs.field(default="msgpack", validator=_format)
    random_prefix_length: int = attrs.field(default=12, validator=_prefix_length)
    send_timeout: float = attrs.field(default=5.0, validator=_positive)
    connect_timeout: float = attrs.field(default=5.0, validator=_positive)
    block_timeout: float = attrs.field(default=5.0, validator=_positive)
    reconnect_interval: float = attrs.field(default=0.1, validator=_positive)
    reconnect_max_interval: float = attrs.field(default=5.0, validator=_positive)
    group_refresh_interval: float | None = attrs.field(
        default=None, validator=attrs.validators.optional(_positive)
    )
    inflight_timeout: float = attrs.field(default=30.0, validator=_positive)
    inbox_batch: int = attrs.field(default=100)
    presence_heartbeat_interval: float = attrs.field(default=5.0, validator=_positive)
    presence_timeout: float = attrs.field(default=15.0, validator=_positive)

    @presence_timeout.validator
    def _check_presence_timeout(self, attribute: attrs.Attribute[float], value: float) -> None:
        if value <= self.presence_heartbeat_interval:
            raise InvalidChannelLayerError(
                f"presence_timeout ({value!r} s) must exceed presence_heartbeat_interval "
                f"({self.presence_heartbeat_interval!r} s), or every member would time out "
                "between two heartbeats; three intervals is a good timeout."
            )

    @inbox_batch.validator
    def _check_batch(self, attribute: attrs.Attribute[int], value: object) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidChannelLayerError(f"inbox_batch must be a positive int, got {value!r}.")

    def refresh_interval(self, group_expiry: float) -> float:
        """Return the membership refresh interval for ``group_expiry``."""
        if self.group_refresh_interval is not None:
            return self.group_refresh_interval
        return group_expiry / 4
