"""Choosing a channel layer by alias, from a mapping shaped like Channels' ``CHANNEL_LAYERS``.

Each entry is ``{"BACKEND": "dotted.path.Class", "CONFIG": {...}, "TEST_CONFIG":
{...}}``; a layer is built on first use and cached. Unlike Channels, when
nothing is configured the ``"default"`` alias is callboard's embedded
in-memory layer rather than ``None``, and an unknown alias is an error that
lists the configured ones. Channels' in-memory backend path is accepted and
translated, so a project's settings port unchanged.

Not here: reading Django settings (``callboard.django_bridge`` feeds
:func:`configure_channel_layers`).
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final, cast

import attrs

from callboard.exceptions import InvalidChannelLayerError

from ._inmemory import InMemoryChannelLayer
from ._protocol import ChannelLayer

__all__ = [
    "DEFAULT_CHANNEL_LAYER",
    "ChannelLayerManager",
    "channel_layers",
    "configure_channel_layers",
    "get_channel_layer",
    "reset_channel_layers",
]

logger = logging.getLogger("callboard.layers")

DEFAULT_CHANNEL_LAYER: Final = "default"
"""The alias consumers use unless they name another (Channels' constant)."""

_ENTRY_KEYS: Final = ("BACKEND", "CONFIG", "TEST_CONFIG")
_EMBEDDED: Final = "callboard.layers.InMemoryChannelLayer"
_TRANSLATED: Final = {
    "channels.layers.InMemoryChannelLayer": _EMBEDDED,
    "channels_redis.core.RedisChannelLayer": "callboard.layers.RedisChannelLayer",
    "channels_redis.pubsub.RedisPubSubChannelLayer": "callboard.layers.RedisPubSubChannelLayer",
}
"""Channels' backend paths that callboard serves with its own layers."""

LayerConfigs = Mapping[str, Mapping[str, Any]]


def _quoted(names: Iterable[object]) -> str:
    return ", ".join(sorted(repr(name) for name in names))


def _check_options(alias: str, key: str, options: object) -> dict[str, Any]:
    if not isinstance(options, Mapping):
        raise InvalidChannelLayerError(
            f"Channel layer {alias!r}: {key} must be a mapping of keyword arguments for "
            f"the backend, like {{'capacity': 100}}; got {type(options).__name__}."
        )
    bad = [name for name in options if not isinstance(name, str)]
    if bad:
        raise InvalidChannelLayerError(
            f"Channel layer {alias!r}: {key} keys must be str option names; got {bad!r}."
        )
    return dict(options)


def _check_entry(alias: object, entry: object) -> dict[str, Any]:
    if not isinstance(alias, str) or not alias:
        raise InvalidChannelLayerError(
            f"CHANNEL_LAYERS aliases must be non-empty str, like 'default'; got {alias!r}."
        )
    if not isinstance(entry, Mapping):
        raise InvalidChannelLayerError(
            f"Channel layer {alias!r} must be a mapping like "
            f"{{'BACKEND': {_EMBEDDED!r}, 'CONFIG': {{...}}}}; got {type(entry).__name__}."
        )
    if "ROUTING" in entry:
        raise InvalidChannelLayerError(
            f"Channel layer {alias!r} has a ROUTING key: that is Channels 1 configuration. "
            "Routing now lives in your ASGI application (ProtocolTypeRouter, URLRouter, "
            "ChannelNameRouter); remove ROUTING from CHANNEL_LAYERS."
        )
    unknown = [key for key in entry if key not in _ENTRY_KEYS]
    if unknown:
        raise InvalidChannelLayerError(
            f"Channel layer {alias!r} has unknown key(s) {_quoted(unknown)}; "
            f"valid keys are {_quoted(_ENTRY_KEYS)}."
        )
    if "BACKEND" not in entry:
        raise InvalidChannelLayerError(
            f"Channel layer {alias!r} has no BACKEND: set it to a dotted path such as "
            f"{_EMBEDDED!r}."
        )
    backend = entry["BACKEND"]
    if not isinstance(backend, str) or "." not in backend.strip("."):
        raise InvalidChannelLayerError(
            f"Channel layer {alias!r}: BACKEND must be a dotted path 'package.module.Class' "
            f"such as {_EMBEDDED!r}; got {backend!r}."
        )
    checked: dict[str, Any] = {"BACKEND": backend}
    for key in ("CONFIG", "TEST_CONFIG"):
        if key in entry:
            checked[key] = _check_options(alias, key, entry[key])
    return checked


def _check_configs(configs: LayerConfigs | None) -> dict[str, dict[str, Any]]:
    if configs is None:
        return {}
    if not isinstance(configs, Mapping):
        raise InvalidChannelLayerError(
            "CHANNEL_LAYERS must be a mapping of alias to "
            f"{{'BACKEND': ..., 'CONFIG': {{...}}}}; got {type(configs).__name__}."
        )
    return {alias: _check_entry(alias, entry) for alias, entry in configs.items()}


def _import_backend(alias: str, path: str) -> Any:
    target = _TRANSLATED.get(path)
    if target is not None:
        logger.info(
            "Channel layer %r: BACKEND %r is %s; using %r instead.",
            alias,
            path,
            "Channels' in-memory layer" if target == _EMBEDDED else "a channels_redis layer",
            target,
        )
        path = target
    module_path, _, name = path.rpartition(".")
    try:
        module = importlib.import_module(module_path)
    except ImportError as exc:
        raise InvalidChannelLayerError(
            f"Cannot import BACKEND {path!r} for channel layer {alias!r}: {exc}. "
            "Check the dotted path and that its package is installed."
        ) from exc
    try:
        backend = getattr(module, name)
    except AttributeError:
        raise InvalidChannelLayerError(
            f"Cannot import BACKEND {path!r} for channel layer {alias!r}: "
            f"module {module_path!r} has no attribute {name!r}."
        ) from None
    if not callable(backend):
        raise InvalidChannelLayerError(
            f"BACKEND {path!r} for channel layer {alias!r} is a {type(backend).__name__}, "
            "not a channel-layer class."
        )
    return backend


@attrs.define(eq=False)
class ChannelLayerManager:
    """Channel layers by alias, built on first use from ``CHANNEL_LAYERS``-shaped configs.

    The configs are checked when given (shape, keys, ``BACKEND`` present);
    backends are imported and built when first asked for. ``channel_layers[alias]``
    and :meth:`get` return the cached layer.

    Args:
        configs: alias to ``{"BACKEND": ..., "CONFIG": {...}, "TEST_CONFIG": {...}}``;
            ``None`` or empty for none, in which case ``"default"`` is the
            embedded :class:`~callboard.layers.InMemoryChannelLayer`.

    Raises:
        InvalidChannelLayerError: a malformed mapping, an entry with an
            unknown key, the old ``ROUTING`` key, or no ``BACKEND``.
    """

    _configs: dict[str, dict[str, Any]] = attrs.field(default=None, converter=_check_configs)
    _backends: dict[str, ChannelLayer] = attrs.field(factory=dict, init=False, repr=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)

    @property
    def configs(self) -> Mapping[str, Mapping[str, Any]]:
        """The checked configs, read-only."""
        return MappingProxyType(self._configs)

    def aliases(self) -> list[str]:
        """Return every alias that :meth:`get` answers, configured or :meth:`set`."""
        known = dict.fromkeys(self._configs)
        if not self._configs:
            known[DEFAULT_CHANNEL_LAYER] = None
        known.update(dict.fromkeys(self._backends))
        return list(known)

    def configure(self, configs: LayerConfigs | None) -> None:
        """Replace the configs and forget every built or :meth:`set` layer.

        Raises:
            InvalidChannelLayerError: as the constructor; the old configs stay then.
        """
        checked = _check_configs(configs)
        with self._lock:
            self._configs = checked
            self._backends = {}

    def built(self) -> dict[str, ChannelLayer]:
        """Return the layers built (or :meth:`set`) so far, by alias; builds none.

        For statistics: a layer nobody has asked for yet has nothing to report.
        """
        with self._lock:
            return dict(self._backends)

    def reset(self) -> None:
        """Forget every built or :meth:`set` layer; the next :meth:`get` builds afresh."""
        with self._lock:
            self._backends = {}

    def _missing(self, alias: str) -> InvalidChannelLayerError:
        if self._configs or self._backends:
            known = f"Configured aliases: {_quoted(self.aliases())}."
        else:
            known = (
                "CHANNEL_LAYERS is empty, so the only layer is the embedded in-memory "
                f"layer {DEFAULT_CHANNEL_LAYER!r}."
            )
        return InvalidChannelLayerError(
            f"No channel layer {alias!r} is configured. {known} "
            "Add it to CHANNEL_LAYERS or use one of those."
        )

    def _build(self, alias: str, key: str) -> ChannelLayer:
        if not self._configs and alias == DEFAULT_CHANNEL_LAYER:
            return InMemoryChannelLayer()
        entry = self._configs.get(alias)
        if entry is None:
            raise self._missing(alias)
        if key not in entry and key == "TEST_CONFIG":
            raise InvalidChannelLayerError(
                f"No TEST_CONFIG is specified for channel layer {alias!r}."
            )
        path: str = entry["BACKEND"]
        backend = _import_backend(alias, path)
        options: dict[str, Any] = entry.get(key, {})
        try:
            layer = backend(**options)
        except (TypeError, ValueError) as exc:  # InvalidChannelLayerError included
            raise InvalidChannelLayerError(
                f"Channel layer {alias!r} (BACKEND {path!r}) could not be built from its "
                f"{key}: {exc}"
            ) from exc
        return cast("ChannelLayer", layer)

    def make_backend(self, alias: str) -> ChannelLayer:
        """Build a new layer for ``alias`` from its ``CONFIG`` (not cached; Channels' method).

        Raises:
            InvalidChannelLayerError: ``alias`` is not configured, its
                ``BACKEND`` cannot be imported (the message names it), or the
                backend refuses its ``CONFIG``.
        """
        return self._build(alias, "CONFIG")

    def make_test_backend(self, alias: str) -> ChannelLayer:
        """Build a new layer for ``alias`` from its ``TEST_CONFIG`` (Channels' method).

        With nothing configured, ``"default"`` gives a fresh embedded layer.

        Raises:
            InvalidChannelLayerError: as :meth:`make_backend`, or the entry has
                no ``TEST_CONFIG``.
        """
        return self._build(alias, "TEST_CONFIG")

    def get(self, alias: str = DEFAULT_CHANNEL_LAYER) -> ChannelLayer:
        """Return the layer for ``alias``, building and caching it on first use.

        Raises:
            InvalidChannelLayerError: as :meth:`make_backend`.
        """
        layer = self._backends.get(alias)
        if layer is not None:
            return layer
        with self._lock:
            layer = self._backends.get(alias)
            if layer is None:
                layer = self._backends[alias] = self.make_backend(alias)
            return layer

    def __getitem__(self, alias: str) -> ChannelLayer:
        return self.get(alias)

    def __contains__(self, alias: object) -> bool:
        return (
            alias in self._backends
            or alias in self._configs
            or (not self._configs and alias == DEFAULT_CHANNEL_LAYER)
        )

    def set(self, alias: str, layer: ChannelLayer) -> ChannelLayer | None:
        """Point ``alias`` at ``layer`` (for tests); return the layer it replaced.

        Returns:
            The previously built or set layer for ``alias``, or ``None`` if
            there was none yet (Channels' behaviour).
        """
        with self._lock:
            old = self._backends.get(alias)
            self._backends[alias] = layer
        return old


channel_layers = ChannelLayerManager()
"""The process's manager: :func:`get_channel_layer` reads it."""


def get_channel_layer(alias: str = DEFAULT_CHANNEL_LAYER) -> ChannelLayer:
    """Return the channel layer for ``alias`` from the process's manager.

    Unlike Channels, this never returns ``None``: with nothing configured,
    ``"default"`` is the embedded in-memory layer; an alias that is not
    configured is an error. Check ``alias in channel_layers`` first where a
    layer is optional.

    Raises:
        InvalidChannelLayerError: ``alias`` is not configured (the message
            lists the configured aliases), or its backend cannot be built.
    """
    return channel_layers.get(alias)


def configure_channel_layers(configs: LayerConfigs | None) -> None:
    """Configure the process's manager from a ``CHANNEL_LAYERS``-shaped mapping.

    Replaces any earlier configuration and forgets every built or set layer.

    Raises:
        InvalidChannelLayerError: as :class:`ChannelLayerManager`.
    """
    channel_layers.configure(configs)


def reset_channel_layers() -> None:
    """Return the process's manager to its initial state: nothing configured, nothing built.

    For tests: ``"default"`` is the embedded in-memory layer again.
    """
    channel_layers.configure(None)
