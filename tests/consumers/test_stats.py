"""Connection statistics: connects, accepts, refusals, closes and disconnects by code, crashes."""

from __future__ import annotations

import pytest

from callboard.consumers import AsyncWebsocketConsumer, connection_statistics
from callboard.exceptions import DenyConnection
from callboard.testing import WebsocketCommunicator

from ._helpers import Boom


class Counted(AsyncWebsocketConsumer):
    """Refuses ``/deny``, closes with 4001 on "bye", crashes on "boom"."""

    async def connect(self) -> None:
        if self.scope["path"] == "/deny":
            raise DenyConnection
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data == "bye":
            await self.close(4001)
        elif text_data == "boom":
            raise Boom("boom")


async def test_a_fresh_loop_counts_nothing() -> None:
    stats = connection_statistics()
    assert (stats.websocket_connects, stats.websocket_open, stats.crashes) == (0, 0, 0)
    assert stats.websocket_closes == stats.websocket_disconnects == {}
    assert stats.rate_limited == {}


async def test_connections_are_counted_by_what_happened_to_them() -> None:
    async with WebsocketCommunicator(Counted.as_asgi(), "/") as open_one:
        assert await open_one.connect() == (True, None)
        async with WebsocketCommunicator(Counted.as_asgi(), "/deny") as refused:
            assert (await refused.connect())[0] is False
        async with WebsocketCommunicator(Counted.as_asgi(), "/") as closed:
            await closed.connect()
            await closed.send_to(text_data="bye")
            assert await closed.receive_output() == {"type": "websocket.close", "code": 4001}
            await closed.disconnect(code=4001)
        async with WebsocketCommunicator(Counted.as_asgi(), "/") as crashed:
            await crashed.connect()
            await crashed.send_to(text_data="boom")
            with pytest.raises(Boom):
                await crashed.receive_output()
            await crashed.wait()
        stats = connection_statistics()
        assert stats.websocket_connects == 4
        assert stats.websocket_accepted == 3
        assert stats.websocket_refused == 1
        assert stats.websocket_open == 2  # the crashed one's client has not answered its 1011
        assert stats.websocket_closes == {4001: 1, 1011: 1}
        assert stats.crashes == 1
        await open_one.disconnect(code=1001)
    stats = connection_statistics()
    # The refused handshake's disconnect (1000) counts too: that connection ended.
    assert stats.websocket_disconnects == {1000: 1, 4001: 1, 1001: 1}
    assert stats.websocket_open == 1
