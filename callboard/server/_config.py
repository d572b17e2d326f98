"""ServerConfig: what ``callboard serve`` needs to know, validated, and its hypercorn form.

Not here: running the server (``_serve``), the command line (``_cli``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from hypercorn.config import Config as HypercornConfig

__all__ = ["DEFAULT_MAX_MESSAGE_SIZE", "ServerConfig"]

DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024
"""1 MiB, daphne's default: a larger WebSocket message closes the connection with 1009."""


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value!r}.")


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value!r}.")


def _binds(value: str | Sequence[str]) -> tuple[str, ...]:
    result = (value,) if isinstance(value, str) else tuple(value)
    if not result:
        raise ValueError("bind needs at least one address, like '127.0.0.1:8000'.")
    return result


@attrs.frozen(kw_only=True)
class ServerConfig:
    """How callboard serves an application on hypercorn's Trio worker.

    Attributes:
        bind: addresses to listen on (``host:port``, ``unix:path`` or ``fd://n``).
        workers: worker processes (each one an event loop with its own runtime).
        websocket_max_message_size: larger messages close the connection with 1009.
        graceful_timeout: on shutdown, how long connections get to finish after
            WebSockets were asked to close with 1001, before they are cancelled.
        keep_alive_timeout: idle HTTP keep-alive connections close after this.
        access_log: log every request (hypercorn's access log) to stderr.
        root_path: the ASGI ``root_path`` (mount point behind a proxy).
        forwarded_allow_ips: proxies whose ``X-Forwarded-*`` headers are trusted
            (hypercorn's ProxyFix is not applied when empty).
    """

    bind: tuple[str, ...] = attrs.field(default=("127.0.0.1:8000",), converter=_binds)
    workers: int = attrs.field(default=1, validator=_positive)
    websocket_max_message_size: int = attrs.field(
        default=DEFAULT_MAX_MESSAGE_SIZE, validator=_positive
    )
    graceful_timeout: float = attrs.field(default=5.0, validator=_non_negative)
    keep_alive_timeout: float = attrs.field(default=5.0, validator=_positive)
    access_log: bool = False
    root_path: str = ""

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> ServerConfig:
        """Build from a settings-style mapping (keys are attribute names, any case).

        Raises:
            ValueError: an unknown key, listing the valid ones; or a bad value.
        """
        valid = {a.name for a in attrs.fields(cls)}
        given = {key.lower(): value for key, value in mapping.items()}
        unknown = sorted(set(given) - valid)
        if unknown:
            raise ValueError(
                f"Unknown server setting(s) {', '.join(map(repr, unknown))}; "
                f"valid: {', '.join(sorted(valid))}."
            )
        return cls(**given)

    def to_hypercorn(self) -> HypercornConfig:
        """Return the equivalent hypercorn ``Config``."""
        config = HypercornConfig()
        config.bind = list(self.bind)
        config.workers = self.workers
        config.websocket_max_message_size = self.websocket_max_message_size
        config.graceful_timeout = self.graceful_timeout
        config.keep_alive_timeout = self.keep_alive_timeout
        config.root_path = self.root_path
        if self.access_log:
            config.accesslog = "-"
        return config
