"""Bad input over real sockets: each gets its documented answer and nobody else notices.

Beyond ``tests/e2e/test_bad_input.py`` (one message over the limit, invalid
JSON to an async JSON consumer, a crash in ``receive``, unknown paths):
fragmented and oversized frames, invalid UTF-8, the sync JSON consumer,
layer messages without a ``type`` or a handler, invalid group names built
from user input, and one client joining thousands of groups. Every test has
a bystander in the same room who must keep chatting, and ends with nothing
left in the runtime.

Not here: bursts of connections (``test_load``).
"""

from __future__ import annotations

import logging
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
from django.urls import path
from e2e._clients import wait_until
from e2e._server import RunningServer, open_server

from callboard.actors import current_runtime
from callboard.consumers import JsonWebsocketConsumer
from callboard.layers import get_channel_layer
from callboard.routing import ProtocolTypeRouter, URLRouter

from ._rawws import (
    OP_BINARY,
    OP_CONTINUATION,
    OP_TEXT,
    RawWebSocket,
    Refused,
    open_raw_websocket,
)
from .apps import RoomConsumer, StatsConsumer, room_group

MAX_MESSAGE_SIZE = 1024
TIMEOUT = 10.0
"""Seconds any one scenario may take over real sockets."""


class SyncJsonEcho(JsonWebsocketConsumer):
    """The sync JSON consumer: its handlers run in worker threads."""

    def receive_json(self, content: Any, **kwargs: Any) -> None:
        self.send_json(content)


class GroupHoarder(RoomConsumer):
    """A room member that joins ``N`` more groups when it says ``join N``."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        assert text_data is not None
        assert self.channel_layer is not None
        if text_data.startswith("join "):
            count = int(text_data.split()[1])
            for number in range(count):
                await self.channel_layer.group_add(f"hoard.{number}", self.channel_name)
            await self.send(text_data=f"joined {count}")
        else:
            await super().receive(text_data=text_data)

    async def hoard_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


application = ProtocolTypeRouter(
    {
        "http": URLRouter([path("stats/", StatsConsumer.as_asgi())]),
        "websocket": URLRouter(
            [
                path("ws/room/<str:room>/", RoomConsumer.as_asgi()),
                path("ws/hoard/<str:room>/", GroupHoarder.as_asgi()),
                path("ws/sync-json/", SyncJsonEcho.as_asgi()),
            ]
        ),
    }
)


def _port(server: RunningServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


@pytest.fixture
async def server() -> AsyncIterator[RunningServer]:
    """The application above, with a 1 KiB message limit, in this test's loop."""
    async with open_server(
        application, websocket_max_message_size=MAX_MESSAGE_SIZE, graceful_timeout=1.0
    ) as running:
        yield running
    assert _occupancy() == (0, 0, 0, 0)


def _occupancy() -> tuple[int, int, int, int]:
    stats = current_runtime().statistics()
    registry = stats.registry
    return stats.actors, registry.mailboxes, registry.groups, registry.memberships


async def _still_chatting(speaker: RawWebSocket, listener: RawWebSocket, text: str) -> None:
    """``speaker`` says ``text`` in the room; both hear it."""
    await speaker.send_text(text)
    assert await listener.receive_message() == text
    assert await speaker.receive_message() == text


async def _settled(connections: int) -> None:
    """Wait until only ``connections`` are left (the bad one has ended)."""
    await wait_until(lambda: current_runtime().statistics().actors == connections)


# -- frames --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frames", "what"),
    [
        ([(OP_TEXT, 600, False), (OP_CONTINUATION, 600, True)], "two fragments, each under it"),
        ([(OP_BINARY, 600, False)] + [(OP_CONTINUATION, 100, False)] * 5, "unfinished fragments"),
        ([(OP_BINARY, MAX_MESSAGE_SIZE + 1, True)], "one binary frame"),
        ([(OP_TEXT, 64 * 1024, True)], "one frame 64 times the limit"),
    ],
)
async def test_a_message_over_the_size_limit_closes_with_1009_and_the_room_carries_on(
    server: RunningServer, frames: list[tuple[int, int, bool]], what: str
) -> None:
    port = _port(server)
    with trio.fail_after(TIMEOUT):
        async with (
            open_raw_websocket("127.0.0.1", port, "/ws/room/big/") as alice,
            open_raw_websocket("127.0.0.1", port, "/ws/room/big/") as bob,
            open_raw_websocket("127.0.0.1", port, "/ws/room/big/") as mallory,
        ):
            for opcode, size, fin in frames:
                await mallory.send_frame(opcode, b"x" * size, fin=fin)
            assert await mallory.close_code() == 1009, what
            await _still_chatting(alice, bob, "still here")


async def test_a_frame_header_claiming_a_terabyte_is_refused_without_buffering_it(
    server: RunningServer,
) -> None:
    port = _port(server)
    header = bytes([0x80 | OP_BINARY, 0x80 | 127]) + struct.pack("!Q", 1 << 40) + b"\0" * 4
    with trio.fail_after(TIMEOUT):
        async with (
            open_raw_websocket("127.0.0.1", port, "/ws/room/huge/") as alice,
            open_raw_websocket("127.0.0.1", port, "/ws/room/huge/") as bob,
            open_raw_websocket("127.0.0.1", port, "/ws/room/huge/") as mallory,
        ):
            await mallory.stream.send_all(header + b"x" * (MAX_MESSAGE_SIZE + 1))
            assert await mallory.close_code() == 1009
            await _still_chatting(alice, bob, "unbothered")


@pytest.mark.parametrize(
    "frames",
    [
        [(OP_TEXT, b"caf\xc3", False), (OP_CONTINUATION, b"\xa9 ok", True)],  # split, valid
        [(OP_TEXT, b"\xff\xfe not utf-8", True)],
        [(OP_TEXT, b"ok so far ", False), (OP_CONTINUATION, b"\xc3\x28", True)],
        [(OP_TEXT, b"\xed\xa0\x80", True)],  # a UTF-16 surrogate, encoded
    ],
    ids=["valid-utf8-split-across-fragments", "invalid", "invalid-in-a-fragment", "surrogate"],
)
async def test_invalid_utf8_in_a_text_message_closes_with_1007(
    server: RunningServer, frames: list[tuple[int, bytes, bool]]
) -> None:
    port = _port(server)
    valid = b"".join(payload for _, payload, _ in frames)
    with trio.fail_after(TIMEOUT):
        async with (
            open_raw_websocket("127.0.0.1", port, "/ws/room/text/") as alice,
            open_raw_websocket("127.0.0.1", port, "/ws/room/text/") as bob,
        ):
            for opcode, payload, fin in frames:
                await bob.send_frame(opcode, payload, fin=fin)
            try:
                text = valid.decode()
            except UnicodeDecodeError:
                assert await bob.close_code() == 1007
                await alice.send_text("alice remains")
                assert await alice.receive_message() == "alice remains"
            else:
                assert await alice.receive_message() == text
                assert await bob.receive_message() == text


async def test_invalid_json_and_binary_frames_to_a_sync_json_consumer_close_1007_and_1003(
    server: RunningServer,
) -> None:
    port = _port(server)
    with trio.fail_after(TIMEOUT):
        async with open_raw_websocket("127.0.0.1", port, "/ws/sync-json/") as good:
            for frame, code in [((OP_TEXT, b"{nope"), 1007), ((OP_BINARY, b"\x00"), 1003)]:
                async with open_raw_websocket("127.0.0.1", port, "/ws/sync-json/") as bad:
                    await bad.send_text('{"fine": 1}')
                    assert await bad.receive_message() == '{"fine": 1}'
                    await bad.send_frame(*frame)
                    assert await bad.close_code() == code
                await good.send_text('{"n": 2}')
                assert await good.receive_message() == '{"n": 2}'


# -- layer messages --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "logged"),
    [
        ({"type": "no.such.event", "text": "?"}, "define `async def no_such_event(self, event)`"),
        ({"text": "no type at all"}, "it must be a dict with a 'type' key"),
        ({"type": "_private"}, "must not start with '.' or '_'"),
        ({"type": "accept"}, "define `async def accept(self, event)`"),
    ],
)
async def test_a_layer_message_without_a_handler_closes_its_receiver_1011_and_logs_why(
    server: RunningServer,
    caplog: pytest.LogCaptureFixture,
    message: dict[str, Any],
    logged: str,
) -> None:
    caplog.set_level(logging.ERROR, logger="callboard.consumers")
    port = _port(server)
    with trio.fail_after(TIMEOUT):
        async with (
            open_raw_websocket("127.0.0.1", port, "/ws/room/layer/") as alice,
            open_raw_websocket("127.0.0.1", port, "/ws/room/layer/") as bob,
        ):
            await _still_chatting(alice, bob, "hello")  # both are in the room
            actors = current_runtime().actors
            target = next(iter(actors))  # alice's consumer: the first to register
            await get_channel_layer().send(target, message)
            assert await alice.close_code() == 1011
            await _settled(1)
            await bob.send_text("bob remains")
            assert await bob.receive_message() == "bob remains"
    [record] = [r for r in caplog.records if "crashed" in r.getMessage()]
    assert record.exc_info is not None
    assert logged in str(record.exc_info[1])


# -- names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("room", "rule"),
    [
        ("caf%C3%A9", "may contain only ASCII letters, digits, '-', '_' or '.'; found 'é'"),
        ("a%20b", "found ' '"),
        ("x" * 95, "must be shorter than 100 characters, is 100"),
    ],
)
async def test_an_invalid_group_name_built_from_the_url_refuses_that_handshake_alone(
    server: RunningServer, caplog: pytest.LogCaptureFixture, room: str, rule: str
) -> None:
    caplog.set_level(logging.ERROR, logger="callboard.consumers")
    port = _port(server)
    with trio.fail_after(TIMEOUT):
        async with (
            open_raw_websocket("127.0.0.1", port, "/ws/room/names/") as alice,
            open_raw_websocket("127.0.0.1", port, "/ws/room/names/") as bob,
        ):
            with pytest.raises(Refused) as refused:
                async with open_raw_websocket("127.0.0.1", port, f"/ws/room/{room}/"):
                    pass
            assert refused.value.status == 403
            await _still_chatting(alice, bob, "names are checked")
    [record] = [r for r in caplog.records if "crashed" in r.getMessage()]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], TypeError | ValueError)
    assert "Invalid group name" in str(record.exc_info[1])
    assert rule in str(record.exc_info[1])


# -- many groups ----------------------------------------------------------------------

HOARD = 5000


async def test_a_client_joining_5000_groups_is_served_and_leaves_every_one(
    server: RunningServer,
) -> None:
    port = _port(server)
    with trio.fail_after(4 * TIMEOUT):
        async with (
            open_raw_websocket("127.0.0.1", port, "/ws/room/hoard/") as alice,
            open_raw_websocket("127.0.0.1", port, "/ws/room/hoard/") as bob,
        ):
            async with open_raw_websocket("127.0.0.1", port, "/ws/hoard/hoard/") as hoarder:
                started = trio.current_time()
                await hoarder.send_text(f"join {HOARD}")
                assert await hoarder.receive_message() == f"joined {HOARD}"
                joined_in = trio.current_time() - started
                stats = current_runtime().statistics().registry
                assert (stats.groups, stats.memberships) == (HOARD + 1, HOARD + 3)
                await get_channel_layer().group_send(
                    f"hoard.{HOARD - 1}", {"type": "hoard.message", "text": "last"}
                )
                assert await hoarder.receive_message() == "last"
                await _still_chatting(alice, bob, "the room is unaffected")
                assert await hoarder.receive_message() == "the room is unaffected"
            await _settled(2)
            stats = current_runtime().statistics().registry
            assert (stats.groups, stats.memberships) == (1, 2)
            assert room_group("hoard") in current_runtime().statistics().group_sizes
    print(f"joined {HOARD} groups in {joined_in:.3f} s")
