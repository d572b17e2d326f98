"""ServerConfig: what ``callboard serve`` needs to know, validated, and its hypercorn form.

Not here: running the server (``_serve``), the command line (``_cli``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from hypercorn.config import Config as HypercornConfig

from callboard.actors import DEFAULT_GC_THRESHOLD

__all__ = ["DEFAULT_BACKLOG", "DEFAULT_MAX_MESSAGE_SIZE", "ServerConfig"]

DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024
"""1 MiB, daphne's default: a larger WebSocket message closes the connection with 1009."""
DEFAULT_BACKLOG = 2048
"""Connections queued before they are accepted (hypercorn's 100 resets bursts)."""


def _positive_int(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{attribute.name} must be an int, got {value!r}.")
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value!r}.")


def _seconds(*, allow_zero: bool) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise TypeError(f"{attribute.name} must be a number of seconds, got {value!r}.")
        if math.isnan(value) or value < 0 or (value == 0 and not allow_zero):
            rule = "must not be negative" if allow_zero else "must be positive"
            raise ValueError(f"{attribute.name} {rule}, got {value!r}.")

    return check


def _binds(value: str | Sequence[str]) -> tuple[str, ...]:
    result = (value,) if isinstance(value, str) else tuple(value)
    if not result:
        raise ValueError("bind needs at least one address, like '127.0.0.1:8000'.")
    for address in result:
        if not isinstance(address, str) or not address:
            raise TypeError(
                f"bind addresses are non-empty str like '127.0.0.1:8000', "
                f"'unix:/run/app.sock' or 'fd://3'; got {address!r}."
            )
    return result


def _root_path(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"root_path must be a str, got {value!r}.")
    if value and not value.startswith("/"):
        raise ValueError(f"root_path is empty or starts with '/', like '/chat'; got {value!r}.")


def _optional_positive_int(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _positive_int(instance, attribute, value)


@attrs.frozen(kw_only=True)
class ServerConfig:
    """How callboard serves an application on hypercorn's Trio worker.

    Attributes:
        bind: addresses to listen on (``host:port``, ``unix:path`` or ``fd://n``);
            port 0 picks a free port (:func:`~callboard.server.serve` reports it).
        workers: worker processes (each one an event loop with its own runtime).
        websocket_max_message_size: larger messages close the connection with 1009.
        backlog: connections the kernel queues before the server accepts them
            (``listen()``'s backlog, capped by ``net.core.somaxconn``). hypercorn's
            default, 100, resets connections in a burst (clients reconnecting
            after a restart); 2048 does not at 10,000 connections.
        graceful_timeout: on shutdown, how long connections get to finish after
            WebSockets were asked to close with 1001, before they are cancelled.
        close_timeout: after ``graceful_timeout``, how long connections get to
            finish their closing handshakes before they are dropped.
        keep_alive_timeout: idle HTTP keep-alive connections close after this.
        access_log: log every request (hypercorn's access log) to stdout.
        root_path: the ASGI ``root_path`` (the mount point behind a proxy), ``""``
            or starting with ``/``.
        gc_threshold: allocations between young garbage collections while
            serving (CPython's default is 700; thousands of connections make
            that the server's main cost), or ``None`` to leave the collector
            alone. ``callboard serve`` also freezes what start-up allocated.
    """

    bind: tuple[str, ...] = attrs.field(default=("127.0.0.1:8000",), converter=_binds)
    workers: int = attrs.field(default=1, validator=_positive_int)
    websocket_max_message_size: int = attrs.field(
        default=DEFAULT_MAX_MESSAGE_SIZE, validator=_positive_int
    )
    backlog: int = attrs.field(default=DEFAULT_BACKLOG, validator=_positive_int)
    graceful_timeout: float = attrs.field(default=5.0, validator=_seconds(allow_zero=True))
    close_timeout: float = attrs.field(default=1.0, validator=_seconds(allow_zero=True))
    keep_alive_timeout: float = attrs.field(default=5.0, validator=_seconds(allow_zero=False))
    access_log: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    root_path: str = attrs.field(default="", validator=_root_path)
    gc_threshold: int | None = attrs.field(
        default=DEFAULT_GC_THRESHOLD, validator=_optional_positive_int
    )

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> ServerConfig:
        """Build from a settings-style mapping (keys are attribute names, any case).

        Raises:
            ValueError: an unknown key, listing the valid ones; or a bad value.
            TypeError: a value of the wrong type.
        """
        valid = [a.name for a in attrs.fields(cls)]
        given = {str(key).lower(): value for key, value in mapping.items()}
        unknown = sorted(set(given) - set(valid))
        if unknown:
            raise ValueError(
                f"Unknown server setting(s) {', '.join(map(repr, unknown))}; "
                f"valid: {', '.join(sorted(valid))}."
            )
        return cls(**given)

    def to_hypercorn(self) -> HypercornConfig:
        """Return the equivalent hypercorn ``Config``.

        Its ``graceful_timeout`` is this one's; :func:`~callboard.server.serve`
        adds ``close_timeout`` when it serves.
        """
        config = HypercornConfig()
        config.bind = list(self.bind)
        config.workers = self.workers
        config.websocket_max_message_size = self.websocket_max_message_size
        config.backlog = self.backlog
        config.graceful_timeout = self.graceful_timeout
        config.keep_alive_timeout = self.keep_alive_timeout
        config.root_path = self.root_path
        if self.access_log:
            config.accesslog = "-"
        return config
