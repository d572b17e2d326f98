"""Bad input over real sockets: each gets a clear, bounded answer and nothing else is lost."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
import trio
from django.urls import path
from trio_websocket import ConnectionRejected

from callboard.actors import current_runtime
from callboard.consumers import AsyncJsonWebsocketConsumer
from callboard.routing import ProtocolTypeRouter, URLRouter

from ._clients import close_code, open_websocket, wait_until
from ._server import open_server
from .chat_app import ChatConsumer, HealthConsumer


class FragileChatConsumer(ChatConsumer):
    """The chat consumer, except that the text ``boom`` makes ``receive`` raise."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data == "boom":
            raise RuntimeError("boom")
        await super().receive(text_data=text_data, bytes_data=bytes_data)


class JsonEchoConsumer(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.send_json(content)


MAX_MESSAGE_SIZE = 1024

application = ProtocolTypeRouter(
    {
        "http": URLRouter([path("health/", HealthConsumer.as_asgi())]),
        "websocket": URLRouter(
            [
                path("ws/chat/<str:room_name>/", ChatConsumer.as_asgi()),
                path("ws/fragile/<str:room_name>/", FragileChatConsumer.as_asgi()),
                path("ws/json/", JsonEchoConsumer.as_asgi()),
            ]
        ),
    }
)


def _live_actors() -> int:
    return current_runtime().statistics().actors


async def test_a_message_over_the_size_limit_closes_with_1009_and_the_consumer_ends() -> None:
    async with open_server(application, websocket_max_message_size=MAX_MESSAGE_SIZE) as server:
        async with open_websocket(server.url, "/ws/chat/big/") as ws:
            await ws.send_message(json.dumps({"message": "x" * 900}))
            assert json.loads(await ws.get_message()) == {"message": "x" * 900}
            await ws.send_message(json.dumps({"message": "x" * MAX_MESSAGE_SIZE}))
            with trio.fail_after(5):
                assert await close_code(ws) == 1009
        with trio.fail_after(5):
            await wait_until(lambda: _live_actors() == 0)


async def test_an_unknown_websocket_path_is_refused_with_http_403() -> None:
    async with open_server(application) as server:
        with pytest.raises(ConnectionRejected) as rejected:
            async with open_websocket(server.url, "/ws/nowhere/"):
                pass
    assert rejected.value.status_code == 403


async def test_an_unknown_http_path_gets_404_and_a_known_one_200() -> None:
    async with open_server(application) as server, httpx.AsyncClient() as client:
        missing = await client.get(f"{server.url}/nowhere/")
        health = await client.get(f"{server.url}/health/")
    assert missing.status_code == 404
    assert health.status_code == 200
    assert health.text == "ok"


async def test_a_consumer_raising_in_receive_closes_only_its_own_connection_with_1011(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="callboard.consumers")
    async with (
        open_server(application) as server,
        open_websocket(server.url, "/ws/fragile/room/") as fragile,
        open_websocket(server.url, "/ws/chat/room/") as bystander,
        open_websocket(server.url, "/ws/chat/room/") as speaker,
    ):
        with trio.fail_after(5):
            await fragile.send_message("boom")
            assert await close_code(fragile) == 1011
            await speaker.send_message(json.dumps({"message": "still here"}))
            assert json.loads(await bystander.get_message()) == {"message": "still here"}
            assert json.loads(await speaker.get_message()) == {"message": "still here"}
    crashes = [record for record in caplog.records if "crashed" in record.getMessage()]
    assert len(crashes) == 1
    assert crashes[0].exc_info is not None
    assert str(crashes[0].exc_info[1]) == "boom"


async def test_invalid_json_to_a_json_consumer_closes_with_1007() -> None:
    async with (
        open_server(application) as server,
        open_websocket(server.url, "/ws/json/") as ws,
    ):
        await ws.send_message(json.dumps({"ok": True}))
        assert json.loads(await ws.get_message()) == {"ok": True}
        await ws.send_message("{not json")
        with trio.fail_after(5):
            assert await close_code(ws) == 1007
