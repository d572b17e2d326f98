"""Copies that keep a message's receivers apart from its sender and each other.

A local send hands each receiver its own copy, made before the sender gets
control back: a sender that mutates its dict afterwards, or a receiver that
mutates what it got, affects nobody else. Channels deep-copies per member;
callboard picks the cheapest copy that is still a full copy: a flat message
whose values are all immutable needs only ``dict.copy``; JSON-like nesting
(dicts, lists, tuples of immutables) gets a purpose-built recursive copy; and
anything else falls back to :func:`copy.deepcopy`.

Not here: where the copies go (``_registry``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

__all__ = ["copier_for", "isolated_copy"]

_IMMUTABLE: frozenset[type] = frozenset({str, int, float, bool, bytes, type(None), complex})


def _json_copy(value: Any) -> Any:
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    if kind is dict:
        return {k: _json_copy(v) for k, v in value.items()}
    if kind is list:
        return [_json_copy(v) for v in value]
    if kind is tuple:
        return tuple(_json_copy(v) for v in value)
    return copy.deepcopy(value)


def _is_flat(message: dict[str, Any]) -> bool:
    immutable = _IMMUTABLE
    return all(type(v) in immutable for v in message.values())


def _flat_copy(message: dict[str, Any]) -> dict[str, Any]:
    return message.copy()


def copier_for(message: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Return the cheapest function that makes full, independent copies of ``message``.

    Look the shape up once per send and call the result once per receiver.
    """
    if type(message) is dict and _is_flat(message):
        return _flat_copy
    return _json_copy


def isolated_copy(message: dict[str, Any]) -> dict[str, Any]:
    """Return a full, independent copy of one message."""
    result: dict[str, Any] = copier_for(message)(message)
    return result
