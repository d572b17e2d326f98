"""Tests for the ChannelLayer protocol."""

from __future__ import annotations

from typing import Any

from callboard.layers import ChannelLayer, InMemoryChannelLayer


def test_in_memory_layer_satisfies_the_protocol() -> None:
    layer: ChannelLayer = InMemoryChannelLayer()
    assert isinstance(layer, ChannelLayer)
    assert list(layer.extensions) == ["groups", "flush", "presence"]


def test_an_object_without_receive_is_not_a_channel_layer() -> None:
    class SendOnly:
        extensions: list[str] = []

        async def send(self, channel: str, message: dict[str, Any]) -> None:
            pass

    assert not isinstance(SendOnly(), ChannelLayer)
