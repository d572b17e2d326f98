"""Tests for ``callboard.actors._isolation``: copies that share nothing mutable."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest

from callboard.actors import isolated_copy
from callboard.actors._isolation import copier_for


class Box:
    def __init__(self, items: list[int]) -> None:
        self.items = items


def test_flat_message_copy_is_equal_and_independent() -> None:
    original = {"type": "chat.message", "text": "hi", "n": 1, "ok": True, "raw": b"x", "none": None}
    copied = isolated_copy(original)
    assert copied == original
    assert copied is not original
    copied["text"] = "changed"
    original["n"] = 2
    assert original["text"] == "hi"
    assert copied["n"] == 1


def test_flat_message_shares_its_immutable_values() -> None:
    text = "".join(["long ", "text"])
    copied = isolated_copy({"type": "t", "text": text})
    assert copied["text"] is text  # nothing immutable is copied


def test_nested_json_like_message_is_copied_all_the_way_down() -> None:
    original: dict[str, Any] = {
        "type": "t",
        "payload": {"users": [{"name": "a", "tags": ["x"]}], "pair": (1, [2])},
    }
    copied = isolated_copy(original)
    assert copied == original
    copied["payload"]["users"][0]["tags"].append("y")
    copied["payload"]["pair"][1].append(3)
    original["payload"]["users"].append({"name": "b"})
    assert original["payload"]["users"][0]["tags"] == ["x"]
    assert original["payload"]["pair"] == (1, [2])
    assert copied["payload"]["users"] == [{"name": "a", "tags": ["x", "y"]}]


def test_one_list_referenced_twice_gives_copies_independent_of_the_original() -> None:
    shared = [1]
    original = {"type": "t", "a": shared, "b": shared}
    copied = isolated_copy(original)
    shared.append(2)
    assert copied["a"] == [1]
    assert copied["b"] == [1]


@pytest.mark.parametrize(
    "value",
    [{1, 2}, bytearray(b"ab"), Box([1]), OrderedDict(a=[1])],
    ids=["set", "bytearray", "object", "ordereddict"],
)
def test_values_outside_json_are_deep_copied(value: object) -> None:
    original = {"type": "t", "value": value, "nested": [value]}
    copied = isolated_copy(original)
    assert copied["value"] is not value
    assert copied["nested"][0] is not value
    assert type(copied["value"]) is type(value)


def test_a_dict_subclass_message_is_deep_copied_keeping_its_type() -> None:
    original = OrderedDict(type="t", items=[1])
    copied = isolated_copy(original)
    assert type(copied) is OrderedDict
    copied["items"].append(2)
    assert original["items"] == [1]


@pytest.mark.parametrize(
    "message",
    [{"type": "t", "n": 1}, {"type": "t", "items": [{"n": 1}]}],
    ids=["flat", "nested"],
)
def test_copier_for_a_shape_makes_independent_copies_every_call(message: dict[str, Any]) -> None:
    copy = copier_for(message)
    first, second = copy(message), copy(message)
    assert first == second == message
    assert first is not second
    first["type"] = "changed"
    if "items" in message:
        first["items"][0]["n"] = 99
    assert second == message
