"""Security over real sockets, without Django settings: origins, rate limits, and what leaks.

- ``OriginValidator`` decides before ``accept``: a missing ``Origin``, other
  ports, subdomains, schemes and malformed values each get 403 or 101 as its
  patterns say, and nothing reaches the consumer of a refused connection.
- A consumer class's rate limit holds against a flooding client, and the
  client's room does not notice.
- Whatever goes wrong, a client sees a close code or a bare status: never a
  traceback, an exception's text, or a setting.

Django's side (``AllowedHostsOriginValidator``, login before accept, session
cookies, Django's error pages) is in ``test_security_django``. The message
size limit is in ``test_bad_input``.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
import trio
from django.urls import path
from e2e._clients import wait_until
from e2e._server import RunningServer, open_server

from callboard.actors import current_runtime
from callboard.consumers import (
    AsyncHttpConsumer,
    AsyncWebsocketConsumer,
    RateLimit,
    connection_statistics,
)
from callboard.django_bridge import OriginValidator
from callboard.routing import ProtocolTypeRouter, URLRouter

from ._rawws import Closed, Refused, open_raw_websocket
from .apps import RoomConsumer

SECRET = "s3cr3t-token-9f2c"
"""Text only the server knows: it must never reach a client."""
PATTERNS = ["example.com", ".example.org", "https://secure.example.net:8443", "http://127.0.0.1:9"]
TIMEOUT = 10.0


class Reached(AsyncWebsocketConsumer):
    """Accepts, so a test sees which connections got through the validator."""


class Flooded(RoomConsumer):
    """A room member whose client may send 5 frames a second, in bursts of 10, else closed."""

    rate_limit = RateLimit(rate=5, burst=10, action="close")


class Throttled(RoomConsumer):
    """A room member whose excess frames are dropped (counted), the connection kept."""

    rate_limit = RateLimit(rate=5, burst=10)


class Leaky(AsyncWebsocketConsumer):
    """Raises with a secret in the message, in ``receive``."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raise RuntimeError(f"database password is {SECRET}")


class LeakyHttp(AsyncHttpConsumer):
    """Raises with a secret in the message, in ``handle``."""

    async def handle(self, body: bytes) -> None:
        raise RuntimeError(f"api key {SECRET}")


application = ProtocolTypeRouter(
    {
        "http": URLRouter([path("leaky/", LeakyHttp.as_asgi())]),
        "websocket": URLRouter(
            [
                path("ws/origin/", OriginValidator(Reached.as_asgi(), PATTERNS)),
                path("ws/origin-any/", OriginValidator(Reached.as_asgi(), ["*"])),
                path("ws/flooded/<str:room>/", Flooded.as_asgi()),
                path("ws/throttled/<str:room>/", Throttled.as_asgi()),
                path("ws/room/<str:room>/", RoomConsumer.as_asgi()),
                path("ws/leaky/", Leaky.as_asgi()),
            ]
        ),
    }
)


def _port(server: RunningServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


async def _status(port: int, path: str, origin: str | None) -> int:
    headers = [] if origin is None else [("Origin", origin)]
    try:
        async with open_raw_websocket("127.0.0.1", port, path, headers=headers):
            return 101
    except Refused as refused:
        return refused.status


ORIGINS = [
    (None, 403, "no Origin header"),
    ("http://example.com", 101, "the domain"),
    ("https://example.com:8080", 101, "a domain pattern allows any scheme and port"),
    ("http://sub.example.com", 403, "no leading dot: no subdomains"),
    ("http://example.com.evil.test", 403, "a longer domain"),
    ("http://evilexample.com", 403, "a suffix"),
    ("http://a.b.example.org", 101, "a leading dot allows subdomains"),
    ("http://example.org", 101, "... and the domain itself"),
    ("https://secure.example.net:8443", 101, "scheme, domain and port"),
    ("http://secure.example.net:8443", 403, "another scheme"),
    ("https://secure.example.net", 403, "the scheme's default port is another"),
    ("https://secure.example.net:8444", 403, "another port"),
    ("https://secure.example.net:99999", 403, "a port out of range"),
    ("https://secure.example.net:x", 403, "a port that is not a number"),
    ("http://127.0.0.1:9", 101, "an address and port"),
    ("http://127.0.0.1", 403, "the address on another port"),
    ("null", 403, "an opaque origin"),
    ("http://[::1", 403, "malformed"),
    ("HTTP://EXAMPLE.COM", 101, "case does not matter"),
]


@pytest.mark.parametrize(("origin", "status", "why"), ORIGINS, ids=[o[2] for o in ORIGINS])
async def test_the_origin_validator_decides_each_origin_before_accept(
    origin: str | None, status: int, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with open_server(application) as server:
        with trio.fail_after(TIMEOUT):
            assert await _status(_port(server), "/ws/origin/", origin) == status, why
            assert await _status(_port(server), "/ws/origin-any/", origin) == 101
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_client_over_its_rate_limit_is_closed_1008_and_its_room_carries_on() -> None:
    async with open_server(application) as server:
        port = _port(server)
        with trio.fail_after(TIMEOUT):
            async with (
                open_raw_websocket("127.0.0.1", port, "/ws/room/limited/") as alice,
                open_raw_websocket("127.0.0.1", port, "/ws/flooded/limited/") as mallory,
            ):
                started = trio.current_time()
                for number in range(100):
                    await mallory.send_text(f"flood {number}")
                with pytest.raises(Closed) as closed:
                    while True:
                        await mallory.receive_message()
                flooded_for = trio.current_time() - started  # the bucket refilled meanwhile
                assert closed.value.code == 1008
                await wait_until(lambda: current_runtime().statistics().actors == 1)
                await alice.send_text("alice is fine")
                passed = []
                while (text := await alice.receive_message()) != "alice is fine":
                    passed.append(text)
        stats = connection_statistics()
    # What got through is the burst (and what the bucket refilled), in order; the rest
    # was counted, or never read: the server stops reading a connection it closed.
    assert passed == [f"flood {number}" for number in range(len(passed))]
    assert 10 <= len(passed) <= 10 + 5 * flooded_for + 1
    assert 0 < stats.rate_limited["Flooded"] <= 100 - len(passed)
    assert stats.websocket_closes.get(1008) == 1


async def test_a_throttled_client_keeps_its_connection_and_the_excess_is_counted() -> None:
    async with open_server(application) as server:
        port = _port(server)
        with trio.fail_after(TIMEOUT):
            async with open_raw_websocket("127.0.0.1", port, "/ws/throttled/t/") as chatty:
                for number in range(50):
                    await chatty.send_text(f"{number}")
                await trio.sleep(0.4)  # the bucket refills: two tokens
                await chatty.send_text("after the pause")
                heard = []
                while (text := await chatty.receive_message()) != "after the pause":
                    heard.append(text)
        stats = connection_statistics()
    assert heard == [str(number) for number in range(10)]  # the burst
    assert stats.rate_limited == {"Throttled": 40}


async def test_no_traceback_exception_text_or_secret_reaches_a_client(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR)
    async with open_server(application) as server:
        port = _port(server)
        with trio.fail_after(TIMEOUT):
            async with open_raw_websocket("127.0.0.1", port, "/ws/leaky/") as ws:
                await ws.send_text("hello")
                frame: Any = None
                with pytest.raises(Closed) as closed:
                    frame = await ws.receive_message()
                assert (closed.value.code, closed.value.reason, frame) == (1011, "", None)
            async with httpx.AsyncClient() as client:
                crashed = await client.get(f"{server.url}/leaky/")
                missing = await client.get(f"{server.url}/nowhere/")
            refused = await _status(port, "/ws/nowhere/", None)
    assert (crashed.status_code, crashed.text) == (500, "Internal Server Error")
    assert missing.status_code == 404
    assert refused == 403
    for body in (crashed.text, missing.text, str(crashed.headers), str(missing.headers)):
        assert SECRET not in body
        assert "Traceback" not in body
        assert "RuntimeError" not in body
    assert SECRET in caplog.text  # the operator's log has it all
