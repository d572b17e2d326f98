"""Addresses: generating and validating channel and group names.

An address names a mailbox. The rules are Channels': ASCII letters, digits,
``-``, ``_`` and ``.``, shorter than 100 characters; a channel name may carry
one ``!`` that marks a process-local part (``specific.<process>!<actor>``).

Not here: what lives at an address (``_registry``).
"""

from __future__ import annotations

import itertools
import os
import re
import secrets

from callboard.exceptions import InvalidNameError

__all__ = [
    "MAX_NAME_LENGTH",
    "new_address",
    "non_local_name",
    "process_name",
    "require_valid_channel_name",
    "require_valid_group_name",
]

MAX_NAME_LENGTH = 100
"""Names must be strictly shorter than this (Channels' limit)."""

# re.ASCII: without it \d also matches non-ASCII digits such as '٣'.
_CHANNEL_RE = re.compile(r"[a-zA-Z\d\-_.]+(![a-zA-Z\d\-_.]*)?", re.ASCII)
_GROUP_RE = re.compile(r"[a-zA-Z\d\-_.]+", re.ASCII)
_ALLOWED = "ASCII letters, digits, '-', '_' or '.'"

_valid_channels: set[str] = set()
_valid_groups: set[str] = set()
_CACHE_LIMIT = 100_000


def _check_length(kind: str, name: object) -> str:
    if not isinstance(name, str):
        raise InvalidNameError(kind, name, f"must be a str, not {type(name).__name__}")
    if not name:
        raise InvalidNameError(kind, name, "must not be empty")
    if len(name) >= MAX_NAME_LENGTH:
        raise InvalidNameError(
            kind, name, f"must be shorter than {MAX_NAME_LENGTH} characters, is {len(name)}"
        )
    return name


def _remember(cache: set[str], name: str) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache.add(name)


def require_valid_channel_name(name: object, *, receive: bool = False) -> str:
    """Check a channel name against Channels' rules.

    Args:
        name: the candidate name.
        receive: when true, also apply the rule for receiving on a layer: a
            process-local name given to ``receive()`` of a cross-process layer
            must end at the ``!``. Local actors receive their full name from
            their own mailbox, so callboard's in-memory layer does not set it.

    Returns:
        The name, unchanged.

    Raises:
        InvalidNameError: naming the rule broken and the offending value (it
            is a ``TypeError`` like Channels' and a ``ValueError``).
    """
    try:
        if name in _valid_channels and not receive:
            return name  # membership implies a str
    except TypeError:  # unhashable, so not a str: _check_length says so
        pass
    checked = _check_length("channel", name)
    if _CHANNEL_RE.fullmatch(checked) is None:
        bang = checked.count("!")
        if bang > 1:
            rule = "may contain at most one '!' (it marks the process-local part)"
        elif checked.startswith("!"):
            rule = "needs a non-local part before the '!'"
        else:
            bad = sorted({c for c in checked if c != "!" and _GROUP_RE.fullmatch(c) is None})
            rule = f"may contain only {_ALLOWED} (and one '!'); found {''.join(bad)!r}"
        raise InvalidNameError("channel", name, rule)
    if receive and "!" in checked and not checked.endswith("!"):
        raise InvalidNameError(
            "channel",
            name,
            "a process-local name given to receive() must end at the '!' "
            f"(receive {non_local_name(checked)!r} instead)",
        )
    _remember(_valid_channels, checked)
    return checked


def forget_channel_name(name: str) -> None:
    """Drop ``name`` from the cache of names known to be valid (its mailbox has ended).

    Generated addresses are never reused, so a process that serves many
    short connections would otherwise fill the cache with ended ones.
    """
    _valid_channels.discard(name)


def require_valid_group_name(name: object) -> str:
    """Check a group name against Channels' rules.

    Args:
        name: the candidate name.

    Returns:
        The name, unchanged.

    Raises:
        InvalidNameError: naming the rule broken and the offending value.
    """
    try:
        if name in _valid_groups:
            return name  # membership implies a str
    except TypeError:  # unhashable, so not a str: _check_length says so
        pass
    checked = _check_length("group", name)
    if _GROUP_RE.fullmatch(checked) is None:
        bad = sorted({c for c in checked if _GROUP_RE.fullmatch(c) is None})
        raise InvalidNameError(
            "group", name, f"may contain only {_ALLOWED}; found {''.join(bad)!r}"
        )
    _remember(_valid_groups, checked)
    return checked


def non_local_name(name: str) -> str:
    """Return the part of a channel name up to and including its ``!``.

    A name without ``!`` is returned whole (Channels' ``non_local_name``).
    """
    bang = name.find("!")
    return name if bang < 0 else name[: bang + 1]


_process_name = f"{os.getpid()}.{secrets.token_hex(4)}"
_counter = itertools.count(1)


def process_name() -> str:
    """Return this process's part of generated addresses (pid and a random tag)."""
    return _process_name


def new_address(prefix: str = "specific") -> str:
    """Generate a fresh process-local address, ``<prefix>.<process>!<n>.<random>``.

    Addresses are never reused within a process: a counter makes them unique
    and a random suffix keeps them unguessable.

    Args:
        prefix: the non-local part's leading word; must itself be a valid
            group-style name (letters, digits, ``-``, ``_``, ``.``). A trailing
            ``.`` is accepted and dropped, as Channels' ``new_channel("x.")``.

    Returns:
        The new address.

    Raises:
        InvalidNameError: if ``prefix`` breaks the naming rules.
    """
    prefix = prefix.rstrip(".") if prefix.endswith(".") else prefix
    address = f"{prefix}.{_process_name}!{next(_counter)}.{secrets.token_hex(4)}"
    if prefix != "specific":
        require_valid_channel_name(address)
    return address
