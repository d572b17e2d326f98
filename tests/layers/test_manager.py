"""Tests for ChannelLayerManager and the process's default manager."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from callboard.exceptions import InvalidChannelLayerError
from callboard.layers import (
    DEFAULT_CHANNEL_LAYER,
    ChannelLayerManager,
    InMemoryChannelLayer,
    channel_layers,
    configure_channel_layers,
    get_channel_layer,
    reset_channel_layers,
)

IN_MEMORY = "callboard.layers.InMemoryChannelLayer"


@pytest.fixture(autouse=True)
def _fresh_default_manager() -> Iterator[None]:
    reset_channel_layers()
    yield
    reset_channel_layers()


def entry(**config: Any) -> dict[str, Any]:
    return {"BACKEND": IN_MEMORY, "CONFIG": config}


# -- nothing configured -----------------------------------------------------------


def test_default_alias_is_channels_constant() -> None:
    assert DEFAULT_CHANNEL_LAYER == "default"


@pytest.mark.parametrize("configs", [None, {}])
def test_with_nothing_configured_default_is_the_embedded_in_memory_layer(
    configs: dict[str, Any] | None,
) -> None:
    manager = ChannelLayerManager(configs)
    layer = manager.get()
    assert isinstance(layer, InMemoryChannelLayer)
    assert manager.get(DEFAULT_CHANNEL_LAYER) is layer
    assert DEFAULT_CHANNEL_LAYER in manager
    assert manager.aliases() == ["default"]


def test_with_nothing_configured_other_aliases_are_unknown() -> None:
    manager = ChannelLayerManager()
    with pytest.raises(
        InvalidChannelLayerError,
        match=re.escape(
            "No channel layer 'chat' is configured. CHANNEL_LAYERS is empty, so the only "
            "layer is the embedded in-memory layer 'default'."
        ),
    ):
        manager.get("chat")
    assert "chat" not in manager


def test_get_channel_layer_uses_the_process_manager() -> None:
    layer = get_channel_layer()
    assert isinstance(layer, InMemoryChannelLayer)
    assert get_channel_layer() is layer
    assert channel_layers[DEFAULT_CHANNEL_LAYER] is layer


# -- configured -------------------------------------------------------------------


def test_config_is_passed_to_the_backend_and_the_layer_cached() -> None:
    manager = ChannelLayerManager({"default": entry(capacity=7, expiry=5)})
    layer = manager["default"]
    assert isinstance(layer, InMemoryChannelLayer)
    assert (layer.capacity, layer.expiry) == (7, 5)
    assert manager.get() is layer


def test_make_backend_builds_a_new_layer_each_time() -> None:
    manager = ChannelLayerManager({"default": entry()})
    assert manager.make_backend("default") is not manager.make_backend("default")


def test_unknown_alias_lists_the_configured_ones() -> None:
    manager = ChannelLayerManager({"default": entry(), "other": entry()})
    expected = "No channel layer 'chat' is configured. Configured aliases: 'default', 'other'."
    with pytest.raises(InvalidChannelLayerError, match=re.escape(expected)):
        manager.get("chat")


def test_configured_without_default_has_no_default() -> None:
    manager = ChannelLayerManager({"other": entry()})
    with pytest.raises(InvalidChannelLayerError, match="No channel layer 'default'"):
        manager.get()
    assert "default" not in manager
    assert "other" in manager


def test_test_config_builds_the_test_backend() -> None:
    manager = ChannelLayerManager(
        {"default": {"BACKEND": IN_MEMORY, "CONFIG": {"capacity": 5}, "TEST_CONFIG": {}}}
    )
    layer = manager.make_test_backend("default")
    assert isinstance(layer, InMemoryChannelLayer)
    assert layer.capacity == 100


def test_missing_test_config_is_an_error() -> None:
    manager = ChannelLayerManager({"default": entry()})
    with pytest.raises(
        InvalidChannelLayerError, match="No TEST_CONFIG is specified for channel layer 'default'"
    ):
        manager.make_test_backend("default")


def test_with_nothing_configured_the_test_backend_is_a_fresh_embedded_layer() -> None:
    manager = ChannelLayerManager()
    layer = manager.make_test_backend("default")
    assert isinstance(layer, InMemoryChannelLayer)
    assert layer is not manager.get()


def test_channels_in_memory_backend_is_translated_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    manager = ChannelLayerManager(
        {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"expiry": 9}}}
    )
    with caplog.at_level(logging.INFO, logger="callboard.layers"):
        layer = manager.get()
    assert isinstance(layer, InMemoryChannelLayer)
    assert layer.expiry == 9
    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        "Channel layer 'default': BACKEND 'channels.layers.InMemoryChannelLayer' is "
        "Channels' in-memory layer; using 'callboard.layers.InMemoryChannelLayer' instead."
    )


# -- errors in configs ------------------------------------------------------------


@pytest.mark.parametrize(
    ("configs", "message"),
    [
        pytest.param(
            [("default", {})], "CHANNEL_LAYERS must be a mapping of alias to", id="not-a-mapping"
        ),
        pytest.param({"": entry()}, "aliases must be non-empty str", id="empty-alias"),
        pytest.param(
            {"default": IN_MEMORY}, "Channel layer 'default' must be a mapping like", id="entry"
        ),
        pytest.param(
            {"default": {"CONFIG": {}}},
            "Channel layer 'default' has no BACKEND: set it to a dotted path such as "
            "'callboard.layers.InMemoryChannelLayer'.",
            id="no-backend",
        ),
        pytest.param(
            {"default": {"BACKEND": IN_MEMORY, "ROUTING": "myproject.routing.channel_routing"}},
            "Channel layer 'default' has a ROUTING key: that is Channels 1 configuration. "
            "Routing now lives in your ASGI application",
            id="routing",
        ),
        pytest.param(
            {"default": {"BACKEND": IN_MEMORY, "OPTIONS": {}}},
            "Channel layer 'default' has unknown key(s) 'OPTIONS'; "
            "valid keys are 'BACKEND', 'CONFIG', 'TEST_CONFIG'.",
            id="unknown-key",
        ),
        pytest.param(
            {"default": {"BACKEND": "InMemoryChannelLayer"}},
            "BACKEND must be a dotted path 'package.module.Class'",
            id="not-dotted",
        ),
        pytest.param(
            {"default": {"BACKEND": IN_MEMORY, "CONFIG": [("capacity", 1)]}},
            "Channel layer 'default': CONFIG must be a mapping of keyword arguments",
            id="config-not-a-mapping",
        ),
        pytest.param(
            {"default": {"BACKEND": IN_MEMORY, "TEST_CONFIG": {1: 2}}},
            "Channel layer 'default': TEST_CONFIG keys must be str option names; got [1]",
            id="config-key",
        ),
    ],
)
def test_malformed_configs_are_refused_when_given(configs: Any, message: str) -> None:
    with pytest.raises(InvalidChannelLayerError, match=re.escape(message)):
        ChannelLayerManager(configs)


def test_unimportable_backend_is_named() -> None:
    manager = ChannelLayerManager({"default": {"BACKEND": "no_such_package.layers.Layer"}})
    with pytest.raises(
        InvalidChannelLayerError,
        match=re.escape(
            "Cannot import BACKEND 'no_such_package.layers.Layer' for channel layer "
            "'default': No module named 'no_such_package'."
        ),
    ):
        manager.get()


def test_backend_missing_from_its_module_is_named() -> None:
    manager = ChannelLayerManager({"default": {"BACKEND": "callboard.layers.RedisLayer"}})
    with pytest.raises(
        InvalidChannelLayerError,
        match=re.escape(
            "Cannot import BACKEND 'callboard.layers.RedisLayer' for channel layer 'default': "
            "module 'callboard.layers' has no attribute 'RedisLayer'."
        ),
    ):
        manager.get()


def test_backend_that_is_not_a_class_is_refused() -> None:
    manager = ChannelLayerManager(
        {"default": {"BACKEND": "callboard.layers.DEFAULT_CHANNEL_LAYER"}}
    )
    with pytest.raises(InvalidChannelLayerError, match="is a str, not a channel-layer class"):
        manager.get()


def test_config_the_backend_refuses_is_reported_with_the_alias() -> None:
    manager = ChannelLayerManager({"default": entry(hosts=[("localhost", 6379)])})
    expected = (
        "Channel layer 'default' (BACKEND 'callboard.layers.InMemoryChannelLayer') could not "
        "be built from its CONFIG: InMemoryChannelLayer got unknown option(s) 'hosts'; valid "
        "options are 'capacity', 'channel_capacity', 'expiry', 'group_expiry'."
    )
    with pytest.raises(InvalidChannelLayerError, match=re.escape(expected)):
        manager.get()


def test_out_of_range_config_value_is_reported_with_the_alias() -> None:
    manager = ChannelLayerManager({"default": entry(capacity=0)})
    with pytest.raises(
        InvalidChannelLayerError,
        match=re.escape("Channel layer 'default' (BACKEND")
        + ".*"
        + re.escape("capacity must be a positive int, got 0."),
    ):
        manager.get()


# -- set, configure, reset --------------------------------------------------------


def test_set_returns_the_layer_it_replaced() -> None:
    manager = ChannelLayerManager()
    first, second = InMemoryChannelLayer(), InMemoryChannelLayer()
    assert manager.set("default", first) is None
    assert manager.get() is first
    assert manager.set("default", second) is first


def test_set_makes_an_alias_known() -> None:
    manager = ChannelLayerManager({"default": entry()})
    layer = InMemoryChannelLayer()
    manager.set("extra", layer)
    assert "extra" in manager
    assert manager.get("extra") is layer
    assert manager.aliases() == ["default", "extra"]


def test_configure_replaces_configs_and_forgets_built_layers() -> None:
    manager = ChannelLayerManager()
    embedded = manager.get()
    manager.configure({"default": entry(capacity=3)})
    layer = manager.get()
    assert layer is not embedded
    assert isinstance(layer, InMemoryChannelLayer)
    assert layer.capacity == 3


def test_a_refused_configure_keeps_the_old_configs() -> None:
    manager = ChannelLayerManager({"default": entry(capacity=3)})
    with pytest.raises(InvalidChannelLayerError):
        manager.configure({"default": {}})
    assert manager.configs["default"]["CONFIG"] == {"capacity": 3}


def test_reset_forgets_built_layers_but_keeps_configs() -> None:
    manager = ChannelLayerManager({"default": entry()})
    layer = manager.get()
    manager.reset()
    assert manager.get() is not layer
    assert "default" in manager.configs


def test_configs_are_read_only() -> None:
    manager = ChannelLayerManager({"default": entry()})
    with pytest.raises(TypeError):
        manager.configs["other"] = entry()  # type: ignore[index]  # proving it is refused


def test_configure_channel_layers_and_reset_drive_the_process_manager() -> None:
    configure_channel_layers({"default": entry(capacity=4), "bulk": entry(capacity=1000)})
    bulk = get_channel_layer("bulk")
    assert isinstance(bulk, InMemoryChannelLayer)
    assert bulk.capacity == 1000
    replacement = InMemoryChannelLayer()
    assert channel_layers.set("bulk", replacement) is bulk
    assert get_channel_layer("bulk") is replacement
    reset_channel_layers()
    assert "bulk" not in channel_layers
    assert isinstance(get_channel_layer(), InMemoryChannelLayer)


def test_layers_import_and_build_without_django() -> None:
    code = (
        "import sys; from callboard.layers import get_channel_layer; get_channel_layer(); "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={"PATH": ""}, timeout=60)
