"""Rate limits: a token bucket per connection on inbound WebSocket messages, under virtual time."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import trio
import trio.testing

from callboard.consumers import (
    CLOSE_POLICY_VIOLATION,
    AsyncWebsocketConsumer,
    RateLimit,
    RateLimitAction,
    WebsocketConsumer,
    connection_statistics,
)
from callboard.consumers._ratelimit import TokenBucket
from callboard.testing import WebsocketCommunicator


class Echo(AsyncWebsocketConsumer):
    """Echoes every frame it is given; 2 messages a second, bursts of 3, extra ones dropped."""

    rate_limit = RateLimit(rate=2, burst=3)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=text_data)


class Strict(Echo):
    """Closes the connection at the first message over the limit."""

    rate_limit = RateLimit(rate=2, burst=3, action="close")
    record: list[Any] | None = None

    async def disconnect(self, code: int) -> None:
        assert self.record is not None
        self.record.append(code)


class SyncStrict(WebsocketConsumer):
    """The sync class closes the same way."""

    rate_limit = RateLimit(rate=1, burst=1, action="close", close_code=4000)

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        self.send(text_data=text_data)


class Unlimited(AsyncWebsocketConsumer):
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=text_data)


async def received(comm: WebsocketCommunicator) -> list[str | bytes]:
    """Everything the consumer sent back until it went quiet."""
    got = []
    while not await comm.receive_nothing(timeout=0.01):
        got.append(await comm.receive_from())
    return got


def test_a_rate_limit_checks_its_values() -> None:
    assert RateLimit(rate=10).burst == 10
    assert RateLimit(rate=0.5).burst == 1
    assert RateLimit(rate=1).action is RateLimitAction.DROP
    assert RateLimit(rate=1, action="close").close_code == CLOSE_POLICY_VIOLATION == 1008
    with pytest.raises(ValueError, match=r"rate must be a positive number .* got 0"):
        RateLimit(rate=0)
    with pytest.raises(ValueError, match=r"burst must be a positive int, got 0"):
        RateLimit(rate=1, burst=0)
    with pytest.raises(
        ValueError, match=r"Unknown rate-limit action 'kick'; use one of 'drop', 'close'"
    ):
        RateLimit(rate=1, action="kick")
    with pytest.raises(
        ValueError, match=r"close_code must be a close code a server may send .* 1006"
    ):
        RateLimit(rate=1, close_code=1006)


def test_the_bucket_refills_at_the_rate_up_to_the_burst() -> None:
    bucket = TokenBucket.full(RateLimit(rate=2, burst=3), now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.4) is False  # 0.8 of a token
    assert bucket.take(0.5) is True
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]


async def test_messages_over_the_limit_are_dropped_counted_and_logged(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with WebsocketCommunicator(Echo.as_asgi(), "/") as comm:
        await comm.connect()
        with caplog.at_level(logging.WARNING, "callboard.consumers"):
            for n in range(5):
                await comm.send_to(text_data=str(n))
            assert await received(comm) == ["0", "1", "2"]
        assert connection_statistics().rate_limited == {"Echo": 2}
        assert "went over its rate limit (2 messages/s, burst 3): dropped" in caplog.text
        await trio.sleep(1)  # two tokens back
        for n in range(5, 8):
            await comm.send_to(text_data=str(n))
        assert await received(comm) == ["5", "6"]
        assert connection_statistics().rate_limited == {"Echo": 3}
        await comm.disconnect()


async def test_a_steady_client_within_the_rate_loses_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with WebsocketCommunicator(Echo.as_asgi(), "/") as comm:
        await comm.connect()
        for n in range(20):
            await comm.send_to(text_data=str(n))
            assert await comm.receive_from() == str(n)
            await trio.sleep(0.5)
        assert connection_statistics().rate_limited == {}
        await comm.disconnect()


async def test_close_action_closes_with_1008_through_the_mailbox(
    autojump_clock: trio.testing.MockClock,
) -> None:
    record: list[Any] = []
    async with WebsocketCommunicator(Strict.as_asgi(record=record), "/") as comm:
        await comm.connect()
        for n in range(6):
            await comm.send_to(text_data=str(n))
        output = []  # some echoes may precede the close: the signal jumps the queue
        while not await comm.receive_nothing(timeout=0.01):
            output.append(await comm.receive_output())
        assert {"type": "websocket.close", "code": 1008} in output
        await comm.disconnect(code=1008)
    assert record == [1008]
    assert connection_statistics().rate_limited == {"Strict": 3}
    assert connection_statistics().websocket_closes == {1008: 1}


async def test_a_sync_consumer_closes_with_its_own_code() -> None:
    # Real time: a worker thread's wait is invisible to autojump_clock.
    async with WebsocketCommunicator(SyncStrict.as_asgi(), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="a")
        assert await comm.receive_from() == "a"
        await comm.send_to(text_data="b")
        assert await comm.receive_output() == {"type": "websocket.close", "code": 4000}
        await comm.disconnect(code=4000)


async def test_the_limit_is_per_connection(autojump_clock: trio.testing.MockClock) -> None:
    async with (
        WebsocketCommunicator(Echo.as_asgi(), "/") as first,
        WebsocketCommunicator(Echo.as_asgi(), "/") as second,
    ):
        await first.connect()
        await second.connect()
        for n in range(3):
            await first.send_to(text_data=f"a{n}")
            await second.send_to(text_data=f"b{n}")
        assert await received(first) == ["a0", "a1", "a2"]
        assert await received(second) == ["b0", "b1", "b2"]
        await first.disconnect()
        await second.disconnect()


async def test_as_asgi_can_set_a_limit_on_one_route(autojump_clock: trio.testing.MockClock) -> None:
    app = Unlimited.as_asgi(rate_limit=RateLimit(rate=1, burst=1))
    async with WebsocketCommunicator(app, "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="a")
        await comm.send_to(text_data="b")
        assert await received(comm) == ["a"]
        await comm.disconnect()
    assert Unlimited.rate_limit is None


async def test_without_a_limit_nothing_is_counted(autojump_clock: trio.testing.MockClock) -> None:
    async with WebsocketCommunicator(Unlimited.as_asgi(), "/") as comm:
        await comm.connect()
        for n in range(50):
            await comm.send_to(text_data=str(n))
        assert len(await received(comm)) == 50
        await comm.disconnect()
    assert connection_statistics().rate_limited == {}
