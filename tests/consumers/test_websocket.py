"""The four WebSocket consumers: Channels' tutorial, handshake, frames, JSON, groups and failures.

Each behaviour is checked on the async class and, where the sync class has
its own code, on the sync one too. The tutorial chat, the echo and the JSON
round trip also run on asyncio (``@pytest.mark.anyio``).
"""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from decimal import Decimal
from typing import Any

import anyio
import pytest
import trio
import trio.testing
from asgiref.sync import async_to_sync
from django.urls import path

from callboard.actors import call_sync_at_home, current_registry, current_runtime
from callboard.consumers import (
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketConsumer,
    JsonWebsocketConsumer,
    WebsocketConsumer,
)
from callboard.exceptions import AcceptConnection, DenyConnection, NoHandlerError
from callboard.layers import get_channel_layer
from callboard.routing import URLRouter
from callboard.testing import WebsocketCommunicator

from ._helpers import Boom, error_records, live, running_supervisor, the_one

# -- Channels' tutorial, async and sync ---------------------------------------------------


class ChatConsumer(AsyncWebsocketConsumer):
    """The tutorial's consumer, with only its imports changed."""

    async def connect(self) -> None:
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = f"chat_{self.room_name}"

        # Join room group
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)

        await self.accept()

    async def disconnect(self, close_code: int) -> None:
        # Leave room group
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    # Receive message from WebSocket
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        text_data_json = json.loads(text_data)
        message = text_data_json["message"]

        # Send message to room group
        await self.channel_layer.group_send(
            self.room_group_name, {"type": "chat.message", "message": message}
        )

    # Receive message from room group
    async def chat_message(self, event: dict[str, Any]) -> None:
        message = event["message"]

        # Send message to WebSocket
        await self.send(text_data=json.dumps({"message": message}))


class SyncChatConsumer(WebsocketConsumer):
    """The tutorial's synchronous consumer, with only its imports changed."""

    def connect(self) -> None:
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = f"chat_{self.room_name}"

        # Join room group
        async_to_sync(self.channel_layer.group_add)(self.room_group_name, self.channel_name)

        self.accept()

    def disconnect(self, close_code: int) -> None:
        # Leave room group
        async_to_sync(self.channel_layer.group_discard)(self.room_group_name, self.channel_name)

    # Receive message from WebSocket
    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        text_data_json = json.loads(text_data)
        message = text_data_json["message"]

        # Send message to room group
        async_to_sync(self.channel_layer.group_send)(
            self.room_group_name, {"type": "chat.message", "message": message}
        )

    # Receive message from room group
    def chat_message(self, event: dict[str, Any]) -> None:
        message = event["message"]

        # Send message to WebSocket
        self.send(text_data=json.dumps({"message": message}))


websocket_urlpatterns = [
    path("ws/chat/<str:room_name>/", ChatConsumer.as_asgi()),
    path("ws/sync-chat/<str:room_name>/", SyncChatConsumer.as_asgi()),
]
chat_application = URLRouter(websocket_urlpatterns)


async def _chat_round(prefix: str, room: str, members: int) -> list[list[Any]]:
    """Connect ``members`` clients to a room; each says hello; return what each received."""
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                WebsocketCommunicator(chat_application, f"/ws/{prefix}/{room}/")
            )
            for _ in range(members)
        ]
        for client in clients:
            assert await client.connect() == (True, None)
        for n, client in enumerate(clients):
            await client.send_json_to({"message": f"hello from {n}"})
        return [[await client.receive_json_from() for _ in clients] for client in clients]


@pytest.mark.anyio
@pytest.mark.parametrize("prefix", ["chat", "sync-chat"])
async def test_tutorial_chat_every_member_receives_every_message(prefix: str) -> None:
    received = await _chat_round(prefix, "lobby", 3)
    said = [{"message": f"hello from {n}"} for n in range(3)]
    for messages in received:
        assert sorted(messages, key=str) == said
    assert received[0] == received[1] == received[2]  # one group order for everyone


@pytest.mark.parametrize("prefix", ["chat", "sync-chat"])
async def test_tutorial_chat_rooms_do_not_hear_each_other(prefix: str) -> None:
    app = chat_application
    async with (
        WebsocketCommunicator(app, f"/ws/{prefix}/lobby/") as lobby,
        WebsocketCommunicator(app, f"/ws/{prefix}/kitchen/") as kitchen,
    ):
        await lobby.connect()
        await kitchen.connect()
        await lobby.send_json_to({"message": "psst"})
        assert await lobby.receive_json_from() == {"message": "psst"}
        assert await kitchen.receive_nothing()


@pytest.mark.parametrize("prefix", ["chat", "sync-chat"])
async def test_tutorial_chat_leaves_its_room_on_disconnect(prefix: str) -> None:
    async with WebsocketCommunicator(chat_application, f"/ws/{prefix}/lobby/") as comm:
        await comm.connect()
        assert len(current_registry().members("chat_lobby")) == 1
        await comm.disconnect()
    assert current_registry().members("chat_lobby") == []
    assert current_runtime().statistics().actors == 0


# -- echo, on both backends, and the ways to own a communicator -------------------------------


class Echo(AsyncWebsocketConsumer):
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=text_data, bytes_data=bytes_data)


@pytest.mark.anyio
async def test_echo_returns_text_and_binary_frames() -> None:
    async with WebsocketCommunicator(Echo.as_asgi(), "/ws/echo/") as comm:
        assert await comm.connect() == (True, None)
        await comm.send_to(text_data="hello")
        assert await comm.receive_from() == "hello"
        await comm.send_to(bytes_data=b"\x00\xff")
        assert await comm.receive_from() == b"\x00\xff"


async def test_echo_runs_in_the_test_s_nursery(nursery: trio.Nursery) -> None:
    comm = WebsocketCommunicator(Echo.as_asgi(), "/ws/echo/")
    await comm.start(nursery)
    await comm.connect()
    await comm.send_to(text_data="owned")
    assert await comm.receive_from() == "owned"
    await comm.disconnect()
    assert live(Echo) == []


async def test_echo_runs_in_channels_style() -> None:
    comm = WebsocketCommunicator(Echo.as_asgi(), "/ws/echo/")
    await comm.connect()
    await comm.send_to(text_data="classic")
    assert await comm.receive_from() == "classic"
    await comm.disconnect()
    assert live(Echo) == []


# -- groups ------------------------------------------------------------------------------


class Grouped(AsyncWebsocketConsumer):
    """Joins ``news`` and ``sport``; records its groups in connect() and disconnect()."""

    groups = ["news", "sport"]
    record: list[tuple[Any, ...]] | None = None

    async def connect(self) -> None:
        assert self.record is not None
        self.record.append(("connect", current_registry().groups_of(self.channel_name)))
        await self.accept()

    async def disconnect(self, code: int) -> None:
        assert self.record is not None
        self.record.append(("disconnect", code, current_registry().groups_of(self.channel_name)))

    async def news_item(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


class SyncGrouped(WebsocketConsumer):
    """The sync twin of :class:`Grouped`."""

    groups = ["news", "sport"]
    record: list[tuple[Any, ...]] | None = None

    def connect(self) -> None:
        assert self.record is not None
        self.record.append(("connect", self._groups_now()))
        self.accept()

    def disconnect(self, code: int) -> None:
        assert self.record is not None
        self.record.append(("disconnect", code, self._groups_now()))

    def _groups_now(self) -> frozenset[str]:
        """The registry belongs to the event loop: ask it from the handler thread."""
        return call_sync_at_home(lambda: current_registry().groups_of(self.channel_name))

    def news_item(self, event: dict[str, Any]) -> None:
        self.send(text_data=event["text"])


GROUPED = [Grouped, SyncGrouped]


@pytest.mark.parametrize("consumer", GROUPED)
async def test_groups_are_joined_before_connect_runs(consumer: type[Any]) -> None:
    record: list[tuple[Any, ...]] = []
    async with WebsocketCommunicator(consumer.as_asgi(record=record), "/") as comm:
        await comm.connect()
    assert record[0] == ("connect", frozenset({"news", "sport"}))


@pytest.mark.parametrize("consumer", GROUPED)
async def test_groups_are_left_before_disconnect_runs(consumer: type[Any]) -> None:
    record: list[tuple[Any, ...]] = []
    async with WebsocketCommunicator(consumer.as_asgi(record=record), "/") as comm:
        await comm.connect()
        await comm.disconnect(code=4001)
    assert record[-1] == ("disconnect", 4001, frozenset())
    assert current_registry().statistics().groups == 0


@pytest.mark.parametrize("consumer", GROUPED)
async def test_a_group_message_reaches_every_member_of_the_groups_attribute(
    consumer: type[Any],
) -> None:
    app = consumer.as_asgi(record=[])
    async with WebsocketCommunicator(app, "/") as one, WebsocketCommunicator(app, "/") as two:
        await one.connect()
        await two.connect()
        await get_channel_layer().group_send("sport", {"type": "news.item", "text": "goal"})
        assert await one.receive_from() == "goal"
        assert await two.receive_from() == "goal"


# -- handshake and frames ------------------------------------------------------------------


class Handshake(AsyncWebsocketConsumer):
    """``how`` picks the answer to the handshake; the frame's text picks what it sends."""

    how = "accept"

    async def connect(self) -> None:
        if self.how == "accept":
            await self.accept()
        elif self.how == "subprotocol":
            await self.accept("chat.v2", headers=[(b"x-room", b"lobby")])
        elif self.how == "close":
            await self.close()
        elif self.how == "close_code":
            await self.close(code=4403)
        elif self.how == "deny":
            raise DenyConnection
        elif self.how == "accept_exception":
            raise AcceptConnection

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if bytes_data is not None:
            await self.send(bytes_data=bytes_data[::-1])
        elif text_data == "close":
            await self.close(code=4000, reason="bye")
        elif text_data == "close_true":
            await self.send(text_data="last", close=True)
        elif text_data == "close_code":
            await self.send(text_data="last", close=4001)
        elif text_data == "nothing":
            await self.send()
        elif text_data == "twice":
            await self.close(code=4000)
            await self.close(code=4001)
            await self.send(text_data="after the close")
        else:
            await self.send(text_data=f"text {text_data}")


class SyncHandshake(WebsocketConsumer):
    """The sync twin of :class:`Handshake`."""

    how = "accept"

    def connect(self) -> None:
        if self.how == "accept":
            self.accept()
        elif self.how == "subprotocol":
            self.accept("chat.v2", headers=[(b"x-room", b"lobby")])
        elif self.how == "close":
            self.close()
        elif self.how == "close_code":
            self.close(code=4403)
        elif self.how == "deny":
            raise DenyConnection
        elif self.how == "accept_exception":
            raise AcceptConnection

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if bytes_data is not None:
            self.send(bytes_data=bytes_data[::-1])
        elif text_data == "close":
            self.close(code=4000, reason="bye")
        elif text_data == "close_true":
            self.send(text_data="last", close=True)
        elif text_data == "close_code":
            self.send(text_data="last", close=4001)
        elif text_data == "nothing":
            self.send()
        elif text_data == "twice":
            self.close(code=4000)
            self.close(code=4001)
            self.send(text_data="after the close")
        else:
            self.send(text_data=f"text {text_data}")


HANDSHAKES = [Handshake, SyncHandshake]


@pytest.mark.parametrize("consumer", HANDSHAKES)
@pytest.mark.parametrize(
    ("how", "answer"),
    [
        ("accept", (True, None)),
        ("subprotocol", (True, "chat.v2")),
        ("close", (False, 1000)),
        ("close_code", (False, 4403)),
        ("deny", (False, 1000)),
        ("accept_exception", (True, None)),
    ],
)
async def test_the_handshake_answer(consumer: type[Any], how: str, answer: tuple[Any]) -> None:
    async with WebsocketCommunicator(
        consumer.as_asgi(how=how), "/", subprotocols=["chat.v2"]
    ) as comm:
        assert await comm.connect() == answer


@pytest.mark.parametrize("consumer", HANDSHAKES)
async def test_accept_sends_the_headers_given(consumer: type[Any]) -> None:
    async with WebsocketCommunicator(consumer.as_asgi(how="subprotocol"), "/") as comm:
        await comm.connect()
        assert comm.response_headers == [(b"x-room", b"lobby")]


@pytest.mark.parametrize("consumer", HANDSHAKES)
async def test_send_writes_text_and_binary_frames(consumer: type[Any]) -> None:
    async with WebsocketCommunicator(consumer.as_asgi(), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="hi")
        assert await comm.receive_from() == "text hi"
        await comm.send_to(bytes_data=b"abc")
        assert await comm.receive_from() == b"cba"


@pytest.mark.parametrize("consumer", HANDSHAKES)
@pytest.mark.parametrize(
    ("text", "close"),
    [
        ("close", {"type": "websocket.close", "code": 4000, "reason": "bye"}),
        ("close_true", {"type": "websocket.close"}),
        ("close_code", {"type": "websocket.close", "code": 4001}),
    ],
)
async def test_close_sends_its_code_and_reason(
    consumer: type[Any], text: str, close: dict[str, Any]
) -> None:
    async with WebsocketCommunicator(consumer.as_asgi(), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data=text)
        if text != "close":
            assert await comm.receive_from() == "last"
        assert await comm.receive_output() == close


@pytest.mark.parametrize("consumer", HANDSHAKES)
async def test_send_without_data_is_a_value_error(consumer: type[Any]) -> None:
    async with WebsocketCommunicator(consumer.as_asgi(), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="nothing")
        with pytest.raises(ValueError, match=r"^You must pass one of bytes_data or text_data$"):
            await comm.receive_output()
        assert await comm.receive_output() == {"type": "websocket.close", "code": 1011}


@pytest.mark.parametrize("consumer", HANDSHAKES)
async def test_what_is_sent_after_a_close_is_dropped(
    consumer: type[Any], caplog: pytest.LogCaptureFixture
) -> None:
    async with WebsocketCommunicator(consumer.as_asgi(), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="twice")
        assert await comm.receive_output() == {"type": "websocket.close", "code": 4000}
        await comm.send_to(text_data="more")
        assert await comm.receive_nothing()
    assert error_records(caplog) == []


# -- JSON ---------------------------------------------------------------------------------


class JsonEcho(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.send_json({"echo": content}, close=content == "bye")


class SyncJsonEcho(JsonWebsocketConsumer):
    def receive_json(self, content: Any, **kwargs: Any) -> None:
        self.send_json({"echo": content}, close=content == "bye")


JSON_ECHOES = [JsonEcho, SyncJsonEcho]


@pytest.mark.anyio
@pytest.mark.parametrize("consumer", JSON_ECHOES)
async def test_json_consumer_round_trips_json(consumer: type[Any]) -> None:
    async with WebsocketCommunicator(consumer.as_asgi(), "/") as comm:
        await comm.connect()
        await comm.send_json_to({"n": [1, 2.5, None, "é"]})
        assert await comm.receive_json_from() == {"echo": {"n": [1, 2.5, None, "é"]}}


@pytest.mark.parametrize("consumer", JSON_ECHOES)
async def test_send_json_with_close_closes_after_the_frame(consumer: type[Any]) -> None:
    async with WebsocketCommunicator(consumer.as_asgi(), "/") as comm:
        await comm.connect()
        await comm.send_json_to("bye")
        assert await comm.receive_json_from() == {"echo": "bye"}
        assert await comm.receive_output() == {"type": "websocket.close"}


class DecimalJson(AsyncJsonWebsocketConsumer):
    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        return json.loads(text_data, parse_float=Decimal)

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.send_json({"n": content["n"], "kind": type(content["n"]).__name__})


class SyncDecimalJson(JsonWebsocketConsumer):
    @classmethod
    def decode_json(cls, text_data: str) -> Any:
        return json.loads(text_data, parse_float=Decimal)

    @classmethod
    def encode_json(cls, content: Any) -> str:
        return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)

    def receive_json(self, content: Any, **kwargs: Any) -> None:
        self.send_json({"n": content["n"], "kind": type(content["n"]).__name__})


@pytest.mark.parametrize("consumer", [DecimalJson, SyncDecimalJson])
async def test_encode_json_and_decode_json_overrides_are_used(consumer: type[Any]) -> None:
    async with WebsocketCommunicator(consumer.as_asgi(), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data='{"n": 1.10}')
        assert await comm.receive_from() == '{"kind":"Decimal","n":"1.10"}'


@pytest.mark.parametrize("consumer", JSON_ECHOES)
async def test_a_binary_frame_to_a_json_consumer_closes_with_1003_without_an_error(
    consumer: type[Any], caplog: pytest.LogCaptureFixture
) -> None:
    async with WebsocketCommunicator(consumer.as_asgi(), "/") as comm:
        await comm.connect()
        await comm.send_to(bytes_data=b'{"n": 1}')
        assert await comm.receive_output() == {
            "type": "websocket.close",
            "code": 1003,
            "reason": "binary frames are not accepted",
        }
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.parametrize("consumer", JSON_ECHOES)
async def test_invalid_json_closes_with_1007_without_an_error(
    consumer: type[Any], caplog: pytest.LogCaptureFixture
) -> None:
    async with WebsocketCommunicator(consumer.as_asgi(), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="{not json")
        assert await comm.receive_output() == {
            "type": "websocket.close",
            "code": 1007,
            "reason": "invalid JSON",
        }
    assert error_records(caplog) == []


class Forgiving(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.send_json({"ok": content})

    async def receive_json_error(self, text_data: str, error: ValueError) -> None:
        await self.send_json({"error": f"not JSON: {text_data!r}"})


class SyncForgiving(JsonWebsocketConsumer):
    def receive_json(self, content: Any, **kwargs: Any) -> None:
        self.send_json({"ok": content})

    def receive_json_error(self, text_data: str, error: ValueError) -> None:
        self.send_json({"error": f"not JSON: {text_data!r}"})


@pytest.mark.parametrize("consumer", [Forgiving, SyncForgiving])
async def test_receive_json_error_can_answer_and_keep_the_connection(consumer: type[Any]) -> None:
    async with WebsocketCommunicator(consumer.as_asgi(), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="{oops")
        assert await comm.receive_json_from() == {"error": "not JSON: '{oops'"}
        await comm.send_json_to([1])
        assert await comm.receive_json_from() == {"ok": [1]}


# -- handler exceptions ----------------------------------------------------------------------


class Fragile(AsyncWebsocketConsumer):
    """Joins ``fragile``; raises :class:`Boom` in the handler ``fails_in`` names."""

    groups = ["fragile"]
    fails_in = ""

    async def connect(self) -> None:
        if self.fails_in == "connect":
            raise Boom("connect blew up")
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.fails_in == "receive":
            raise Boom("receive blew up")
        await self.send(text_data=text_data)

    async def chat_message(self, event: dict[str, Any]) -> None:
        if self.fails_in == "group":
            raise Boom("group blew up")
        await self.send(text_data=event["text"])

    async def disconnect(self, code: int) -> None:
        if self.fails_in == "disconnect":
            raise Boom("disconnect blew up")


class SyncFragile(WebsocketConsumer):
    """The sync twin of :class:`Fragile`."""

    groups = ["fragile"]
    fails_in = ""

    def connect(self) -> None:
        if self.fails_in == "connect":
            raise Boom("connect blew up")
        self.accept()

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.fails_in == "receive":
            raise Boom("receive blew up")
        self.send(text_data=text_data)

    def chat_message(self, event: dict[str, Any]) -> None:
        if self.fails_in == "group":
            raise Boom("group blew up")
        self.send(text_data=event["text"])

    def disconnect(self, code: int) -> None:
        if self.fails_in == "disconnect":
            raise Boom("disconnect blew up")


FRAGILE = [Fragile, SyncFragile]
PLACES = ["connect", "receive", "group", "disconnect"]


async def _provoke(comm: WebsocketCommunicator, place: str) -> None:
    """Make the consumer fail in ``place``; the next call raises; wait for the end."""
    if place == "connect":
        with pytest.raises(Boom, match="connect blew up"):
            await comm.connect()
    else:
        await comm.connect()
        if place == "receive":
            await comm.send_to(text_data="x")
        elif place == "group":
            await get_channel_layer().group_send("fragile", {"type": "chat.message", "text": "x"})
        if place == "disconnect":
            with pytest.raises(Boom, match="disconnect blew up"):
                await comm.disconnect()
        else:
            with pytest.raises(Boom, match=f"{place} blew up"):
                await comm.receive_output()
    await comm.wait()


@pytest.mark.parametrize("consumer", FRAGILE)
async def test_an_exception_in_receive_surfaces_from_the_next_call_then_closes_1011(
    consumer: type[Any],
) -> None:
    async with WebsocketCommunicator(consumer.as_asgi(fails_in="receive"), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="x")
        with pytest.raises(Boom, match=r"^receive blew up$"):
            await comm.receive_from()
        assert await comm.receive_output() == {"type": "websocket.close", "code": 1011}
        await comm.wait()


@pytest.mark.parametrize("consumer", FRAGILE)
async def test_an_exception_in_connect_surfaces_from_connect_then_refuses(
    consumer: type[Any],
) -> None:
    async with WebsocketCommunicator(consumer.as_asgi(fails_in="connect"), "/") as comm:
        with pytest.raises(Boom, match=r"^connect blew up$"):
            await comm.connect()
        assert await comm.receive_output() == {"type": "websocket.close"}  # HTTP 403
        await comm.wait()


@pytest.mark.parametrize("consumer", FRAGILE)
async def test_an_exception_in_disconnect_surfaces_from_disconnect(consumer: type[Any]) -> None:
    async with WebsocketCommunicator(consumer.as_asgi(fails_in="disconnect"), "/") as comm:
        await comm.connect()
        with pytest.raises(Boom, match=r"^disconnect blew up$"):
            await comm.disconnect()
        assert await comm.receive_nothing()  # nothing is sent to a client that has gone


@pytest.mark.parametrize("consumer", FRAGILE)
async def test_an_exception_in_a_group_handler_closes_that_connection_alone(
    consumer: type[Any],
) -> None:
    layer = get_channel_layer()
    async with (
        WebsocketCommunicator(consumer.as_asgi(fails_in="group"), "/") as fragile,
        WebsocketCommunicator(consumer.as_asgi(), "/") as sturdy,
    ):
        await fragile.connect()
        await sturdy.connect()
        await layer.group_send("fragile", {"type": "chat.message", "text": "one"})
        with pytest.raises(Boom, match=r"^group blew up$"):
            await fragile.receive_output()
        assert await fragile.receive_output() == {"type": "websocket.close", "code": 1011}
        await fragile.wait()
        assert await sturdy.receive_from() == "one"
        await layer.group_send("fragile", {"type": "chat.message", "text": "two"})
        assert await sturdy.receive_from() == "two"
        members = current_registry().members("fragile")
        assert [m.address for m in members] == [the_one(consumer).channel_name]


@pytest.mark.parametrize("consumer", FRAGILE)
@pytest.mark.parametrize("place", PLACES)
async def test_a_handler_exception_is_logged_once_with_its_traceback(
    consumer: type[Any], place: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with WebsocketCommunicator(consumer.as_asgi(fails_in=place), "/ws/fragile/") as comm:
        await _provoke(comm, place)
    (record,) = error_records(caplog)
    assert record.name == "callboard.consumers"
    assert record.getMessage().startswith(f"{consumer.__qualname__} at 'specific.")
    assert record.getMessage().endswith(
        "crashed; closing this connection alone (path '/ws/fragile/')."
    )
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], Boom)
    assert record.exc_info[2] is not None


@pytest.mark.parametrize("consumer", FRAGILE)
@pytest.mark.parametrize("place", PLACES)
async def test_a_handler_exception_leaves_no_membership_address_or_actor(
    consumer: type[Any], place: str
) -> None:
    async with WebsocketCommunicator(consumer.as_asgi(fails_in=place), "/") as comm:
        await _provoke(comm, place)
    stats = current_runtime().statistics()
    assert current_registry().members("fragile") == []
    assert (stats.actors, stats.registry.mailboxes, stats.registry.memberships) == (0, 0, 0)


async def test_a_layer_message_without_a_handler_closes_1011_naming_the_method() -> None:
    class Quiet(AsyncWebsocketConsumer):
        pass

    async with WebsocketCommunicator(Quiet.as_asgi(), "/") as comm:
        await comm.connect()
        await get_channel_layer().send(the_one(Quiet).channel_name, {"type": "chat.nothing"})
        with pytest.raises(
            NoHandlerError,
            match=(
                r"^No handler for message type 'chat\.nothing' on Quiet: define "
                r"`async def chat_nothing\(self, event\)` on Quiet, or stop sending that type "
                r"to it\.$"
            ),
        ):
            await comm.receive_output()
        assert await comm.receive_output() == {"type": "websocket.close", "code": 1011}


@pytest.mark.parametrize("consumer", [JsonEcho, SyncJsonEcho])
@pytest.mark.parametrize("kind", ["send.json", "receive.json", "encode.json", "close", "connect"])
async def test_a_message_type_naming_consumer_machinery_finds_no_handler(
    consumer: type[Any], kind: str
) -> None:
    async with WebsocketCommunicator(consumer.as_asgi(), "/") as comm:
        await comm.connect()
        await get_channel_layer().send(the_one(consumer).channel_name, {"type": kind})
        with pytest.raises(NoHandlerError, match=f"No handler for message type '{kind}'"):
            await comm.receive_output()


# -- overflow, shutdown, the client leaving, timeouts -------------------------------------------


class Busy(AsyncWebsocketConsumer):
    """``receive`` waits for ``gate``; ``news_item`` forwards; ``disconnect`` is recorded."""

    groups = ["busy"]
    gate: anyio.Event | None = None
    record: list[str] | None = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.gate is not None:
            await self.gate.wait()
        await self.send(text_data=f"done {text_data}")

    async def news_item(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])

    async def disconnect(self, code: int) -> None:
        if self.record is not None:
            self.record.append(f"disconnect {code}")


async def test_the_disconnect_policy_closes_a_flooded_consumer_with_1013() -> None:
    class Flooded(Busy):
        mailbox_capacity = 2
        overflow_policy = "disconnect"

    gate = anyio.Event()
    async with WebsocketCommunicator(Flooded.as_asgi(gate=gate), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="x")
        await trio.testing.wait_all_tasks_blocked()
        name = the_one(Flooded).channel_name
        for n in range(3):
            await get_channel_layer().send(name, {"type": "news.item", "text": str(n)})
        gate.set()
        assert await comm.receive_from() == "done x"
        assert await comm.receive_output() == {"type": "websocket.close", "code": 1013}
        assert await comm.receive_nothing()  # the queued news is not sent after the close
        assert current_registry().lookup(name).statistics().overflowed == 1
        await comm.disconnect(code=1013)


async def test_shutdown_closes_with_1001_and_disconnect_runs() -> None:
    record: list[str] = []
    async with (
        running_supervisor() as supervisor,
        WebsocketCommunicator(Busy.as_asgi(record=record), "/") as comm,
    ):
        await comm.connect()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(supervisor.shutdown, 10)
            assert await comm.receive_output() == {"type": "websocket.close", "code": 1001}
            await comm.disconnect(code=1001)  # the server's answer to the close
    assert record == ["disconnect 1001"]
    assert current_registry().statistics().groups == 0


async def test_shutdown_closes_a_sync_consumer_with_1001_and_disconnect_runs() -> None:
    record: list[tuple[Any, ...]] = []
    async with (
        running_supervisor() as supervisor,
        WebsocketCommunicator(SyncGrouped.as_asgi(record=record), "/") as comm,
    ):
        await comm.connect()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(supervisor.shutdown, 10)
            assert await comm.receive_output() == {"type": "websocket.close", "code": 1001}
            await comm.disconnect(code=1001)
    assert record[-1] == ("disconnect", 1001, frozenset())


async def test_shutdown_before_the_handshake_refuses_it() -> None:
    async with (
        running_supervisor() as supervisor,
        WebsocketCommunicator(Busy.as_asgi(), "/") as comm,
    ):
        supervisor.request_stop()
        assert await comm.connect() == (False, 1000)
        assert await comm.receive_nothing()  # connect() then ran, but its accept was dropped
        await comm.disconnect(code=1006)


async def test_group_messages_after_a_shutdown_close_are_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with (
        running_supervisor() as supervisor,
        WebsocketCommunicator(Busy.as_asgi(), "/") as comm,
    ):
        await comm.connect()
        supervisor.request_stop()
        assert await comm.receive_output() == {"type": "websocket.close", "code": 1001}
        await get_channel_layer().group_send("busy", {"type": "news.item", "text": "late"})
        assert await comm.receive_nothing()
        await comm.disconnect(code=1001)
    assert error_records(caplog) == []


async def test_a_send_after_the_client_left_is_dropped_and_disconnect_still_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    record: list[str] = []
    gate = anyio.Event()
    async with WebsocketCommunicator(Busy.as_asgi(gate=gate, record=record), "/") as comm:
        await comm.connect()
        await comm.send_to(text_data="slow")
        await trio.testing.wait_all_tasks_blocked()
        await comm.send_input({"type": "websocket.disconnect", "code": 1006})
        await trio.testing.wait_all_tasks_blocked()
        gate.set()
        await comm.wait()
        assert await comm.receive_nothing()
    assert record == ["disconnect 1006"]
    assert error_records(caplog) == []


async def test_a_connect_that_never_answers_times_out_and_leaves_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    class Hesitant(AsyncWebsocketConsumer):
        groups = ["hesitant"]

        async def connect(self) -> None:
            await anyio.sleep_forever()

    async with WebsocketCommunicator(Hesitant.as_asgi(), "/") as comm:
        with pytest.raises(TimeoutError, match="sent nothing within 2 s"):
            await comm.connect(timeout=2)
    assert current_registry().members("hesitant") == []
    assert current_runtime().statistics().actors == 0
