"""Tests for LayerConfig and compile_capacities."""

from __future__ import annotations

import re
from typing import Any

import pytest

from callboard.exceptions import InvalidChannelLayerError
from callboard.layers import LayerConfig, compile_capacities

# -- LayerConfig ----------------------------------------------------------------


def test_config_defaults_are_channels_defaults() -> None:
    config = LayerConfig()
    assert (config.expiry, config.group_expiry, config.capacity) == (60, 86_400, 100)
    assert config.channel_capacity == ()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("expiry", 0, "expiry must be a positive number of seconds, got 0"),
        ("expiry", float("nan"), "expiry must be a positive number of seconds, got nan"),
        ("expiry", "60", "expiry must be a positive number of seconds, got '60'"),
        ("group_expiry", -1, "group_expiry must be a positive number of seconds, got -1"),
        ("capacity", 0, "capacity must be a positive int, got 0"),
        ("capacity", True, "capacity must be a positive int, got True"),
        ("capacity", 2.5, "capacity must be a positive int, got 2.5"),
    ],
)
def test_config_rejects_out_of_range_values(field: str, value: object, message: str) -> None:
    options: dict[str, Any] = {field: value}
    with pytest.raises(InvalidChannelLayerError, match=re.escape(message)):
        LayerConfig(**options)


def test_config_is_frozen() -> None:
    config = LayerConfig()
    with pytest.raises(AttributeError):
        config.capacity = 5  # type: ignore[misc]  # proving it is refused


# -- compile_capacities ----------------------------------------------------------


def test_glob_keys_match_whole_names() -> None:
    config = LayerConfig(channel_capacity={"http.response!*": 10, "http.*": 20})
    assert config.capacity_for("http.response!abc") == 10
    assert config.capacity_for("http.request") == 20
    assert config.capacity_for("websocket.send") == 100


def test_compiled_regex_keys_are_used_as_given() -> None:
    config = LayerConfig(channel_capacity={re.compile(r"^fast"): 1000, "slow*": 2})
    assert config.capacity_for("fast.lane") == 1000
    assert config.capacity_for("slow.lane") == 2
    assert config.capacity_for("a.fast.lane") == 100


def test_first_matching_pattern_wins() -> None:
    config = LayerConfig(channel_capacity={"a*": 1, "ab*": 2})
    assert config.capacity_for("abc") == 1


def test_compiled_pairs_can_be_compiled_again() -> None:
    pairs = compile_capacities({"x*": 3, re.compile("y"): 4})
    assert compile_capacities(pairs) == pairs
    assert compile_capacities(None) == ()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({7: 1}, "channel_capacity key 7 must be a glob string"),
        ({re.compile(b"x"): 1}, "is a bytes regex; channel names are str"),
        ({"x*": 0}, "channel_capacity['x*'] must be a positive int, got 0"),
        ([("x*", 1, 2)], "channel_capacity items must be (pattern, capacity) pairs"),
        ("x*", "channel_capacity must map patterns to capacities"),
        (5, "channel_capacity must map patterns to capacities"),
    ],
)
def test_bad_channel_capacity_is_refused(spec: Any, message: str) -> None:
    with pytest.raises(InvalidChannelLayerError, match=re.escape(message)):
        compile_capacities(spec)
