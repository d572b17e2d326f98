"""Origin checks: allowed patterns, refusal before accept, ALLOWED_HOSTS."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest

from callboard.django_bridge import AllowedHostsOriginValidator, OriginValidator
from callboard.testing import WebsocketCommunicator


async def _never(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("a refused connection reached the application")


@pytest.mark.parametrize(
    ("pattern", "origin", "allowed"),
    [
        ("*", None, True),
        ("example.com", None, False),
        ("example.com", "http://example.com", True),
        ("example.com", "https://sub.example.com", False),
        (".example.com", "https://sub.example.com", True),
        ("https://example.com", "https://example.com:443", True),
        ("https://example.com", "http://example.com", False),
        ("http://example.com:8000", "http://example.com:8000", True),
        ("http://example.com:8000", "http://example.com", False),
    ],
)
def test_origin_patterns(pattern: str, origin: str | None, allowed: bool) -> None:
    validator = OriginValidator(_never, [pattern])

    assert validator.valid_origin(urlparse(origin) if origin else None) is allowed


async def test_a_refused_connection_is_closed_before_accept() -> None:
    communicator = WebsocketCommunicator(
        OriginValidator(_never, ["example.com"]), "/", headers=[(b"origin", b"http://evil.com")]
    )
    async with communicator:
        connected, _ = await communicator.connect()
    assert not connected


async def test_only_websocket_scopes_are_validated() -> None:
    with pytest.raises(ValueError, match="non-WebSocket connection"):
        await OriginValidator(_never, ["*"])({"type": "http"}, None, None)  # type: ignore[arg-type]


def test_allowed_hosts_with_debug_and_no_hosts_allow_localhost() -> None:
    from django.test import override_settings

    with override_settings(DEBUG=True, ALLOWED_HOSTS=[]):
        assert AllowedHostsOriginValidator(_never).allowed_origins == [
            "localhost",
            "127.0.0.1",
            "[::1]",
        ]
    assert "example.com" in AllowedHostsOriginValidator(_never).allowed_origins


async def _handshake_status(host: str, port: int, origin: str) -> bytes:
    import anyio

    request = (
        "GET /ws/whoami/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
    )
    async with await anyio.connect_tcp(host, port) as stream:
        await stream.send(request.encode())
        received = b""
        while b"\r\n" not in received:
            received += await stream.receive()
    return received.split(b"\r\n")[0]


@pytest.mark.django_db(transaction=True)
async def test_a_real_client_from_another_origin_gets_403() -> None:
    from django_project.asgi import application

    from callboard.testing import open_live_server

    async with open_live_server(application) as server:
        refused = await _handshake_status(server.host, server.port, "http://evil.com")
        accepted = await _handshake_status(server.host, server.port, "http://127.0.0.1")

    assert refused.startswith(b"HTTP/1.1 403")
    assert accepted.startswith(b"HTTP/1.1 101")
