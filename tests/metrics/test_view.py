"""The process view: the runtime's roll-up, the connections and the layers in one snapshot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from callboard.consumers import AsyncWebsocketConsumer
from callboard.layers import InMemoryChannelLayer, InMemoryLayerStatistics, channel_layers
from callboard.metrics import ProcessStatistics, process_statistics
from callboard.testing import WebsocketCommunicator


class Lobby(AsyncWebsocketConsumer):
    groups = ["lobby"]  # Channels' class attribute


@pytest.fixture(autouse=True)
def fresh_layers() -> Iterator[None]:
    channel_layers.reset()
    yield
    channel_layers.reset()


async def test_a_layer_nobody_has_used_is_not_reported() -> None:
    assert process_statistics().layers == {}


async def test_one_snapshot_holds_actors_connections_and_layers() -> None:
    async with WebsocketCommunicator(Lobby.as_asgi(), "/") as comm:
        await comm.connect()
        stats = process_statistics()
        assert isinstance(stats, ProcessStatistics)
        assert stats.runtime.actors_by_class == {"Lobby": 1}
        assert stats.runtime.group_sizes == {"lobby": 1}
        assert stats.connections.websocket_open == 1
        assert set(stats.layers) == {"default"}
        assert isinstance(stats.layers["default"], InMemoryLayerStatistics)
        await comm.disconnect()


async def test_a_layer_set_by_hand_is_reported_under_its_alias() -> None:
    channel_layers.set("extra", InMemoryChannelLayer())
    assert set(process_statistics().layers) == {"extra"}
