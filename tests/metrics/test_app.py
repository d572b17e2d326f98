"""MetricsApp: the Prometheus endpoint, through a communicator and over a live server."""

from __future__ import annotations

import httpx
import pytest
from django.urls import path
from trio_websocket import open_websocket_url

from callboard.consumers import AsyncWebsocketConsumer
from callboard.metrics import CONTENT_TYPE, MetricsApp
from callboard.routing import ProtocolTypeRouter, URLRouter
from callboard.testing import HttpCommunicator, open_live_server

from ._prometheus import parse


class Echo(AsyncWebsocketConsumer):
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=text_data)
        if text_data == "bye":
            await self.close(4002)


async def test_get_answers_the_text_format() -> None:
    response = await HttpCommunicator(MetricsApp(), "GET", "/metrics").get_response()
    assert response["status"] == 200
    headers = dict(response["headers"])
    assert headers[b"content-type"] == CONTENT_TYPE.encode()
    assert headers[b"cache-control"] == b"no-store"
    types, _ = parse(response["body"].decode())
    assert types["callboard_actors"] == "gauge"


async def test_head_answers_without_a_body() -> None:
    response = await HttpCommunicator(MetricsApp(), "HEAD", "/metrics").get_response()
    assert (response["status"], response["body"]) == (200, b"")


async def test_other_methods_get_405() -> None:
    response = await HttpCommunicator(MetricsApp(), "POST", "/metrics").get_response()
    assert response["status"] == 405
    assert dict(response["headers"])[b"allow"] == b"GET, HEAD"


def test_max_groups_is_checked() -> None:
    with pytest.raises(ValueError, match=r"max_groups must be an int >= 0, got -1"):
        MetricsApp(max_groups=-1)


async def test_a_live_server_exports_its_websocket_counters() -> None:
    app = ProtocolTypeRouter(
        {
            "http": URLRouter([path("metrics", MetricsApp())]),
            "websocket": URLRouter([path("ws/", Echo.as_asgi())]),
        }
    )
    async with open_live_server(app) as server, httpx.AsyncClient() as client:
        async with open_websocket_url(f"{server.ws_url}/ws/") as ws:
            await ws.send_message("bye")
            assert await ws.get_message() == "bye"
        response = await client.get(f"{server.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE
    _, samples = parse(response.text)
    counts = {(name, tuple(sorted(labels.items()))): v for name, labels, v in samples}
    assert counts[("callboard_websocket_accepted_total", ())] == 1
    assert counts[("callboard_websocket_closes_total", (("code", "4002"),))] == 1
    assert counts[("callboard_supervisor_restarts_total", ())] == 0  # under the server's root
