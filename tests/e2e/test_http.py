"""Plain HTTP requests to a consumer, through ``callboard.server.serve``."""

from __future__ import annotations

import logging

import httpx
import pytest

from ._server import open_server
from .chat_app import application

REQUESTS = 20


async def test_plain_http_requests_get_their_responses() -> None:
    async with open_server(application) as server, httpx.AsyncClient() as client:
        for _ in range(REQUESTS):
            response = await client.get(f"{server.url}/health/")
            assert (response.status_code, response.text) == (200, "ok")


async def test_plain_http_requests_log_no_warnings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    async with open_server(application) as server, httpx.AsyncClient() as client:
        for _ in range(REQUESTS):
            assert (await client.get(f"{server.url}/health/")).status_code == 200
    assert [record.getMessage() for record in caplog.records] == []
