"""BridgeConfig: callboard's own Django settings, the ``CALLBOARD`` dict, validated.

Read once by :func:`bridge_config` and cached; ``override_settings(CALLBOARD=...)``
and any other ``setting_changed`` for it reset the cache (the app config
connects that).

Not here: ``CHANNEL_LAYERS`` (``callboard.layers``, fed by the app config).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs

from ._errors import SettingsError

__all__ = [
    "DEFAULT_DATABASE_THREAD_LIMIT",
    "DEFAULT_HTTP_THREAD_LIMIT",
    "BridgeConfig",
    "bridge_config",
    "reset_bridge_config",
]

DEFAULT_DATABASE_THREAD_LIMIT: Final = 10
"""Worker threads running ORM calls from async code at once, per event loop."""

DEFAULT_HTTP_THREAD_LIMIT: Final = 40
"""Django requests handled in worker threads at once, per event loop."""

_KEYS: Final = {
    "DATABASE_THREAD_LIMIT": "database_thread_limit",
    "HTTP_THREAD_LIMIT": "http_thread_limit",
    "SERVER": "server",
    "WORKER": "worker",
}


def _positive_int(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        key = attribute.name.upper()
        raise SettingsError(key, f"{key} must be an int >= 1, got {value!r}.")


def _options(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise SettingsError("SERVER/WORKER", f"expected a dict of str keys, got {value!r}.")
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class BridgeConfig:
    """callboard's options for a Django project, from ``settings.CALLBOARD``.

    Attributes:
        database_thread_limit: ORM calls from async code running in worker
            threads at once (``database_sync_to_async``, the async ORM's
            calls); each busy thread holds one connection per database.
        http_thread_limit: Django requests served in worker threads at once.
        server: ``callboard.server.ServerConfig`` options for ``runserver``
            (``{"websocket_max_message_size": ..., "graceful_timeout": ...}``).
        worker: ``WorkerConfig`` options for ``runworker``.
    """

    database_thread_limit: int = attrs.field(
        default=DEFAULT_DATABASE_THREAD_LIMIT, validator=_positive_int
    )
    http_thread_limit: int = attrs.field(default=DEFAULT_HTTP_THREAD_LIMIT, validator=_positive_int)
    server: Mapping[str, Any] = attrs.field(factory=dict, converter=_options)
    worker: Mapping[str, Any] = attrs.field(factory=dict, converter=_options)

    @classmethod
    def from_settings(cls, settings: Any = None) -> BridgeConfig:
        """Build from Django's settings (``settings.CALLBOARD``, absent means defaults).

        Args:
            settings: a settings object; ``django.conf.settings`` by default.
                Unconfigured settings give the defaults.

        Raises:
            SettingsError: ``CALLBOARD`` is not a dict, has an unknown key
                (the message lists the valid ones), or a bad value.
        """
        if settings is None:
            from django.conf import settings as django_settings

            if not django_settings.configured:
                return cls()
            settings = django_settings
        given = getattr(settings, "CALLBOARD", None)
        if given is None:
            return cls()
        if not isinstance(given, Mapping):
            raise SettingsError(
                "CALLBOARD", f"must be a dict like {{'DATABASE_THREAD_LIMIT': 10}}, got {given!r}."
            )
        for key in given:
            if key not in _KEYS:
                raise SettingsError.unknown(str(key), _KEYS)
        return cls(**{_KEYS[key]: value for key, value in given.items()})


_cached: BridgeConfig | None = None


def bridge_config() -> BridgeConfig:
    """Return the project's :class:`BridgeConfig`, read from settings on first use.

    Raises:
        SettingsError: as :meth:`BridgeConfig.from_settings`.
    """
    global _cached
    config = _cached
    if config is None:
        config = _cached = BridgeConfig.from_settings()
    return config


def reset_bridge_config() -> None:
    """Forget the cached config; the next :func:`bridge_config` reads settings again."""
    global _cached
    _cached = None
