"""Tests for ``callboard.actors._address``: name rules and address generation."""

from __future__ import annotations

import ast
import os
import re
import string

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from callboard.actors import (
    MAX_NAME_LENGTH,
    new_address,
    non_local_name,
    process_name,
    require_valid_channel_name,
    require_valid_group_name,
)
from callboard.exceptions import InvalidNameError

ALLOWED = string.ascii_letters + string.digits + "-_."

# Allowed characters, the '!', and near misses: space, control, non-ASCII letters
# and digits (Arabic-Indic three, fullwidth one), punctuation.
NAME_CHARS = st.sampled_from(ALLOWED + "!! \n\t/:@#+~*äÜß٣１é")
NAMES = st.one_of(
    st.text(NAME_CHARS, max_size=110),
    st.text(st.sampled_from(ALLOWED + "!"), min_size=95, max_size=105),
    st.text(max_size=20),
)

# What each rule's message says, for checking that an error names a rule broken.
RULE_TEXT = {
    "type": "must be a str",
    "empty": "must not be empty",
    "length": f"must be shorter than {MAX_NAME_LENGTH} characters",
    "bangs": "may contain at most one '!'",
    "local": "needs a non-local part before the '!'",
    "chars": "may contain only ASCII letters, digits, '-', '_' or '.'",
}


def broken_channel_rules(name: str) -> set[str]:
    """Every rule ``name`` breaks as a channel name, by the spec, not the code."""
    broken = set()
    if not name:
        broken.add("empty")
    if len(name) >= MAX_NAME_LENGTH:
        broken.add("length")
    if name.count("!") > 1:
        broken.add("bangs")
    if name.startswith("!"):
        broken.add("local")
    if any(c not in ALLOWED + "!" for c in name):
        broken.add("chars")
    return broken


def broken_group_rules(name: str) -> set[str]:
    broken = set()
    if not name:
        broken.add("empty")
    if len(name) >= MAX_NAME_LENGTH:
        broken.add("length")
    if any(c not in ALLOWED for c in name):
        broken.add("chars")
    return broken


def assert_names_a_broken_rule(
    error: InvalidNameError, kind: str, name: str, broken: set[str]
) -> None:
    assert error.kind == kind
    assert error.name is name
    assert str(error).startswith(f"Invalid {kind} name {name!r}: ")
    assert str(error).endswith(error.rule)
    named = {rule for rule, text in RULE_TEXT.items() if text in error.rule}
    assert named, f"unrecognised rule text: {error.rule!r}"
    assert named <= broken, f"{error.rule!r} names a rule {name!r} does not break"
    if "chars" in named:
        found = re.search(r"found (.*)$", error.rule)
        assert found is not None
        shown = ast.literal_eval(found.group(1))  # a repr of the offending characters
        ok = ALLOWED + "!" if kind == "channel" else ALLOWED
        assert shown
        assert all(c in name and c not in ok for c in shown)


# -- channel names -------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "chat",
        "websocket.receive",
        "specific.1234.abcd!5.ef",
        "specific.abc!",
        "a!b",
        "A-Z_a-z.0-9",
        "-",
        ".",
        "x" * (MAX_NAME_LENGTH - 1),
    ],
)
def test_valid_channel_name_is_returned_unchanged(name: str) -> None:
    assert require_valid_channel_name(name) is name


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "must not be empty"),
        ("x" * MAX_NAME_LENGTH, "must be shorter than 100 characters, is 100"),
        ("a!b!c", "may contain at most one '!'"),
        ("!abc", "needs a non-local part before the '!'"),
        ("!", "needs a non-local part before the '!'"),
        ("chat room", "found ' '"),
        ("chat\n", r"found '\\n'"),
        ("grüße", "found 'ßü'"),
        ("room٣", "found '٣'"),
        ("a/b:c", "found '/:'"),
    ],
)
def test_invalid_channel_name_error_names_rule_and_value(name: str, rule: str) -> None:
    with pytest.raises(
        InvalidNameError, match=re.escape(f"Invalid channel name {name!r}: ")
    ) as info:
        require_valid_channel_name(name)
    assert re.search(rule, info.value.rule)
    assert info.value.kind == "channel"
    assert info.value.name == name


@pytest.mark.parametrize(
    ("value", "type_name"),
    [(None, "NoneType"), (123, "int"), (b"chat", "bytes"), (["chat"], "list"), ({}, "dict")],
)
def test_non_str_channel_name_is_refused_with_its_type(value: object, type_name: str) -> None:
    with pytest.raises(InvalidNameError, match=f"must be a str, not {type_name}"):
        require_valid_channel_name(value)


def test_invalid_name_error_is_a_type_error_and_a_value_error() -> None:
    # Channels raises TypeError; ported `except TypeError` clauses keep working.
    with pytest.raises(TypeError, match="Invalid channel name"):
        require_valid_channel_name("a b")
    with pytest.raises(ValueError, match="Invalid channel name"):
        require_valid_channel_name("a b")


def test_receive_refuses_a_local_part_after_the_bang() -> None:
    with pytest.raises(
        InvalidNameError,
        match=re.escape("must end at the '!' (receive 'specific.x!' instead)"),
    ):
        require_valid_channel_name("specific.x!abc", receive=True)


@pytest.mark.parametrize("name", ["specific.x!", "chat"])
def test_receive_accepts_names_ending_at_the_bang_or_without_one(name: str) -> None:
    assert require_valid_channel_name(name, receive=True) is name


def test_receive_rule_applies_to_a_name_already_validated() -> None:
    name = "specific.cached!local"
    require_valid_channel_name(name)
    require_valid_channel_name(name)  # now cached as valid
    with pytest.raises(InvalidNameError, match="must end at the '!'"):
        require_valid_channel_name(name, receive=True)


@given(NAMES)
@example("٣")
@example("a" * 99)
@example("a" * 100)
@example("abc!")
@example("!")
def test_channel_name_accepted_iff_it_follows_channels_rules(name: str) -> None:
    broken = broken_channel_rules(name)
    if not broken:
        assert require_valid_channel_name(name) is name
        return
    with pytest.raises(InvalidNameError) as info:
        require_valid_channel_name(name)
    assert_names_a_broken_rule(info.value, "channel", name, broken)


# -- group names ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["chat", "room-1_a.b", "x" * (MAX_NAME_LENGTH - 1)])
def test_valid_group_name_is_returned_unchanged(name: str) -> None:
    assert require_valid_group_name(name) is name


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "must not be empty"),
        ("g" * MAX_NAME_LENGTH, "must be shorter than 100 characters, is 100"),
        ("room!1", "found '!'"),
        ("chat room", "found ' '"),
        ("room٣", "found '٣'"),
    ],
)
def test_invalid_group_name_error_names_rule_and_value(name: str, rule: str) -> None:
    with pytest.raises(InvalidNameError, match=re.escape(f"Invalid group name {name!r}: ")) as info:
        require_valid_group_name(name)
    assert rule in info.value.rule
    assert info.value.kind == "group"


@pytest.mark.parametrize(("value", "type_name"), [(None, "NoneType"), (7, "int"), (["g"], "list")])
def test_non_str_group_name_is_refused_with_its_type(value: object, type_name: str) -> None:
    with pytest.raises(
        InvalidNameError, match=f"Invalid group name .*must be a str, not {type_name}"
    ):
        require_valid_group_name(value)


@given(NAMES)
@example("٣")
@example("g" * 99)
@example("g" * 100)
def test_group_name_accepted_iff_it_follows_channels_rules(name: str) -> None:
    broken = broken_group_rules(name)
    if not broken:
        assert require_valid_group_name(name) is name
        return
    with pytest.raises(InvalidNameError) as info:
        require_valid_group_name(name)
    assert_names_a_broken_rule(info.value, "group", name, broken)


# -- non_local_name --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [("specific.x!abc", "specific.x!"), ("specific.x!", "specific.x!"), ("chat", "chat")],
)
def test_non_local_name_keeps_up_to_and_including_the_bang(name: str, expected: str) -> None:
    assert non_local_name(name) == expected


# -- generated addresses ---------------------------------------------------------


def test_process_name_is_stable_valid_and_names_the_pid() -> None:
    name = process_name()
    assert name == process_name()
    assert name.startswith(f"{os.getpid()}.")
    assert require_valid_group_name(name) == name


def test_new_address_has_channels_specific_shape() -> None:
    address = new_address()
    assert re.fullmatch(rf"specific\.{re.escape(process_name())}!\d+\.[0-9a-f]{{8}}", address)
    assert require_valid_channel_name(address) == address


def test_new_addresses_are_never_reused() -> None:
    addresses = [new_address() for _ in range(1000)]
    assert len(set(addresses)) == len(addresses)


def test_new_address_uses_the_prefix_and_drops_a_trailing_dot() -> None:
    assert new_address("worker").startswith(f"worker.{process_name()}!")
    assert new_address("worker.").startswith(f"worker.{process_name()}!")


@pytest.mark.parametrize(
    ("prefix", "rule"),
    [("bad prefix", "found ' '"), ("a!b", "at most one '!'"), ("p" * 90, "shorter than 100")],
)
def test_new_address_refuses_an_invalid_prefix(prefix: str, rule: str) -> None:
    with pytest.raises(InvalidNameError, match=re.escape(rule)):
        new_address(prefix)
