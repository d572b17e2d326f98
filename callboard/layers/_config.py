"""Layer configuration: the validated, frozen form of a layer's ``CONFIG``.

``channel_capacity`` accepts glob strings and compiled regexes, both; Channels'
in-memory layer raises on them, this compiles them once.

Not here: the layers that read it (``_base``, ``_inmemory``).
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

import attrs

from callboard.exceptions import InvalidChannelLayerError

__all__ = ["CapacityPatterns", "ChannelCapacity", "LayerConfig", "compile_capacities"]

ChannelCapacity: TypeAlias = Mapping[Any, int] | Iterable[tuple[Any, int]]
"""What ``channel_capacity`` accepts: glob strings or compiled regexes to capacities.

Keys are typed ``Any`` because ``Mapping`` is invariant in its key: a
``dict[str, int]`` of globs must be accepted, and so must a mix of globs and
regexes; :func:`compile_capacities` checks each key at run time.
"""

CapacityPatterns: TypeAlias = tuple[tuple[re.Pattern[str], int], ...]
"""``channel_capacity`` compiled: (pattern, capacity) pairs, first match wins."""


def _pattern_for(pattern: object) -> re.Pattern[str]:
    if isinstance(pattern, re.Pattern):
        if not isinstance(pattern.pattern, str):
            raise InvalidChannelLayerError(
                f"channel_capacity pattern {pattern!r} is a bytes regex; channel names are str."
            )
        return pattern
    if isinstance(pattern, str):
        return re.compile(fnmatch.translate(pattern))
    raise InvalidChannelLayerError(
        f"channel_capacity key {pattern!r} must be a glob string such as 'http.*' "
        f"or a compiled regex, not {type(pattern).__name__}."
    )


def _positive_int(what: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidChannelLayerError(f"{what} must be a positive int, got {value!r}.")
    return value


def compile_capacities(channel_capacity: ChannelCapacity | None) -> CapacityPatterns:
    """Compile ``channel_capacity`` into (pattern, capacity) pairs, keeping their order.

    A string key is a glob (``"http.response!*"``, as in Channels); a compiled
    regex is used as given (Channels' in-memory layer raises on those; this
    does not). Already compiled pairs pass through, so the result can be fed
    back in.

    Args:
        channel_capacity: a mapping, or an iterable of pairs, from pattern to
            capacity; ``None`` for none.

    Returns:
        The pairs; :meth:`LayerConfig.capacity_for` returns the first match.

    Raises:
        InvalidChannelLayerError: a key that is neither a glob nor a str regex,
            a capacity that is not a positive int, or an item that is not a pair.
    """
    spec: object = channel_capacity
    if spec is None:
        return ()
    if isinstance(spec, Mapping):
        items: Iterable[object] = spec.items()
    elif isinstance(spec, Iterable) and not isinstance(spec, str | bytes):
        items = spec
    else:
        raise InvalidChannelLayerError(
            f"channel_capacity must map patterns to capacities, like {{'http.*': 200}}; "
            f"got {spec!r}."
        )
    result: list[tuple[re.Pattern[str], int]] = []
    for item in items:
        if not isinstance(item, tuple) or len(item) != 2:
            raise InvalidChannelLayerError(
                f"channel_capacity items must be (pattern, capacity) pairs, got {item!r}."
            )
        pattern, capacity = item
        compiled = _pattern_for(pattern)
        result.append((compiled, _positive_int(f"channel_capacity[{pattern!r}]", capacity)))
    return tuple(result)


def _check_duration(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or math.isnan(value)
        or value <= 0
    ):
        raise InvalidChannelLayerError(
            f"{attribute.name} must be a positive number of seconds, got {value!r}."
        )


def _check_capacity(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _positive_int(attribute.name, value)


@attrs.frozen(kw_only=True)
class LayerConfig:
    """A channel layer's configuration (the ``CONFIG`` of a ``CHANNEL_LAYERS`` entry).

    Attributes:
        expiry: seconds a message waits unread before it expires (counted).
        group_expiry: seconds a group membership lasts unless renewed.
        capacity: how many messages a channel holds; the default for every channel.
        channel_capacity: per-channel capacities, compiled; the first matching
            pattern wins over ``capacity``.

    Raises:
        InvalidChannelLayerError: a value out of range, naming it.
    """

    expiry: float = attrs.field(default=60, validator=_check_duration)
    group_expiry: float = attrs.field(default=86_400, validator=_check_duration)
    capacity: int = attrs.field(default=100, validator=_check_capacity)
    channel_capacity: CapacityPatterns = attrs.field(default=(), converter=compile_capacities)

    def capacity_for(self, channel: str) -> int:
        """Return the capacity of ``channel``: the first matching pattern's, else ``capacity``."""
        for pattern, capacity in self.channel_capacity:
            if pattern.match(channel):
                return capacity
        return self.capacity
