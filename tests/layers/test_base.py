"""Tests for BaseChannelLayer: Channels' helpers on callboard's rules."""

from __future__ import annotations

import re
from typing import Any

import pytest
import trio
import trio.testing

from callboard.exceptions import InvalidChannelLayerError, InvalidNameError
from callboard.layers import BaseChannelLayer, InMemoryChannelLayer

# -- BaseChannelLayer: configuration --------------------------------------------


def test_base_takes_channels_arguments() -> None:
    layer = BaseChannelLayer(30, 5, {"big*": 50}, group_expiry=10)
    assert (layer.expiry, layer.capacity, layer.group_expiry) == (30, 5, 10)
    assert layer.get_capacity("big.one") == 50
    assert layer.get_capacity("other") == 5


def test_get_capacity_accepts_globs_and_regexes_unlike_channels_in_memory() -> None:
    layer = InMemoryChannelLayer(capacity=3, channel_capacity={"g*": 7, re.compile(r"r\d"): 9})
    assert [layer.get_capacity(n) for n in ("glob", "r1", "x")] == [7, 9, 3]


def test_unknown_option_lists_the_valid_ones() -> None:
    expected = (
        "InMemoryChannelLayer got unknown option(s) 'hosts', 'prefix'; valid options are "
        "'capacity', 'channel_capacity', 'expiry', 'group_expiry'."
    )
    with pytest.raises(InvalidChannelLayerError, match=re.escape(expected)):
        InMemoryChannelLayer(hosts=[("localhost", 6379)], prefix="asgi")


def test_channel_capacity_attribute_is_the_compiled_list() -> None:
    layer = BaseChannelLayer(channel_capacity={"a*": 2})
    [(pattern, capacity)] = layer.channel_capacity
    assert pattern.match("abc") is not None
    assert capacity == 2


def test_assigning_compiled_capacities_like_channels_redis_works() -> None:
    layer = BaseChannelLayer(channel_capacity={"a*": 2})
    layer.channel_capacity = layer.compile_capacities({"b*": 4})
    assert layer.get_capacity("bee") == 4
    assert layer.get_capacity("abc") == 100
    layer.channel_capacity = {"c*": 6}
    assert layer.get_capacity("cat") == 6


def test_repr_shows_the_configuration() -> None:
    layer = InMemoryChannelLayer(expiry=5, capacity=7)
    assert repr(layer) == (
        "InMemoryChannelLayer(expiry=5, group_expiry=86400, capacity=7, "
        "channel_capacity=0 pattern(s))"
    )


# -- BaseChannelLayer: names ----------------------------------------------------


def test_max_name_length_is_channels_limit() -> None:
    layer = BaseChannelLayer()
    assert layer.MAX_NAME_LENGTH == 100
    assert layer.match_type_and_length("a" * 99)
    assert not layer.match_type_and_length("a" * 100)
    assert not layer.match_type_and_length(b"abc")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "must not be empty"),
        ("a" * 100, "must be shorter than 100 characters, is 100"),
        (42, "must be a str, not int"),
        ("a!b!c", "may contain at most one '!'"),
        ("!abc", "needs a non-local part before the '!'"),
        ("chat room", "may contain only ASCII letters, digits, '-', '_' or '.' (and one '!'); "),
    ],
)
def test_invalid_channel_names_name_the_rule(name: object, message: str) -> None:
    layer = BaseChannelLayer()
    with pytest.raises(InvalidNameError, match=re.escape(message)):
        layer.require_valid_channel_name(name)


def test_invalid_name_is_a_type_error_like_channels() -> None:
    with pytest.raises(TypeError, match=r"Invalid channel name 'a b'"):
        BaseChannelLayer().require_valid_channel_name("a b")


def test_valid_channel_name_returns_true() -> None:
    layer = BaseChannelLayer()
    assert layer.require_valid_channel_name("specific.abc!def") is True
    assert layer.require_valid_channel_name("specific.abc!", receive=True) is True


def test_receive_rule_requires_names_ending_at_the_bang() -> None:
    with pytest.raises(InvalidNameError, match=r"must end at the '!' \(receive 'a!' instead\)"):
        BaseChannelLayer().require_valid_channel_name("a!b", receive=True)


def test_group_names_may_not_contain_a_bang() -> None:
    layer = BaseChannelLayer()
    assert layer.require_valid_group_name("chat_lobby-1.x") is True
    with pytest.raises(InvalidNameError, match=r"Invalid group name 'a!b': may contain only"):
        layer.require_valid_group_name("a!b")


def test_valid_channel_names_checks_every_name() -> None:
    layer = BaseChannelLayer()
    assert layer.valid_channel_names(["a", "b!c"]) is True
    with pytest.raises(InvalidNameError, match="Invalid channel name 'b c'"):
        layer.valid_channel_names(["a", "b c"])
    with pytest.raises(InvalidNameError, match="must end at the '!'"):
        layer.valid_channel_names(["a!b"], receive=True)


@pytest.mark.parametrize("names", [[], ("a",), "a"])
def test_valid_channel_names_needs_a_non_empty_list(names: object) -> None:
    with pytest.raises(InvalidNameError, match="expected a non-empty list of channel names"):
        BaseChannelLayer().valid_channel_names(names)


def test_non_local_name() -> None:
    layer = BaseChannelLayer()
    assert layer.non_local_name("specific.abc!def") == "specific.abc!"
    assert layer.non_local_name("general") == "general"


# -- BaseChannelLayer: the API --------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(lambda layer: layer.send("a", {}), r"send\(\)", id="send"),
        pytest.param(lambda layer: layer.receive("a"), r"receive\(\)", id="receive"),
        pytest.param(lambda layer: layer.new_channel(), r"new_channel\(\)", id="new_channel"),
        pytest.param(
            lambda layer: layer.group_add("g", "a"),
            r"group_add\(\) \(groups extension\)",
            id="group_add",
        ),
        pytest.param(
            lambda layer: layer.group_discard("g", "a"),
            r"group_discard\(\) \(groups extension\)",
            id="group_discard",
        ),
        pytest.param(
            lambda layer: layer.group_send("g", {}),
            r"group_send\(\) \(groups extension\)",
            id="group_send",
        ),
        pytest.param(lambda layer: layer.flush(), r"flush\(\) \(flush extension\)", id="flush"),
    ],
)
async def test_unimplemented_methods_name_the_extension(call: Any, message: str) -> None:
    with pytest.raises(
        NotImplementedError, match=r"BaseChannelLayer does not implement " + message
    ):
        await call(BaseChannelLayer())


async def test_base_close_is_a_checkpoint() -> None:
    layer = BaseChannelLayer()
    with trio.testing.assert_checkpoints():
        await layer.close()
    await layer.close()
