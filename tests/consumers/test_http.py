"""AsyncHttpConsumer: whole responses, streamed bodies, kept-open streams and server-sent events."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
import trio
import trio.testing

from callboard.actors import current_registry, current_runtime
from callboard.consumers import AsyncHttpConsumer
from callboard.layers import get_channel_layer
from callboard.testing import HttpCommunicator

from ._helpers import Boom, error_records, running_supervisor


class Hello(AsyncHttpConsumer):
    """Answers ``hello <body>``; records every disconnect()."""

    record: list[str] | None = None

    async def handle(self, body: bytes) -> None:
        await self.send_response(200, b"hello " + body, headers=[(b"content-type", b"text/plain")])

    async def disconnect(self) -> None:
        if self.record is not None:
            self.record.append("disconnect")


def occupancy() -> tuple[int, int, int]:
    stats = current_runtime().statistics()
    return (stats.actors, stats.registry.mailboxes, stats.registry.memberships)


# -- whole responses ---------------------------------------------------------------------


async def test_send_response_answers_status_headers_and_body() -> None:
    async with HttpCommunicator(Hello.as_asgi(), "POST", "/hello/", body=b"world") as comm:
        assert await comm.get_response() == {
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
            "body": b"hello world",
        }
        await comm.wait()
    assert occupancy() == (0, 0, 0)


@pytest.mark.parametrize(
    "headers",
    [{b"x-a": b"1", b"x-b": b"2"}, [(b"x-a", b"1"), (b"x-b", b"2")]],
    ids=["dict", "list"],
)
async def test_send_headers_takes_a_dict_or_a_list_of_pairs(headers: Any) -> None:
    class Headed(AsyncHttpConsumer):
        async def handle(self, body: bytes) -> None:
            await self.send_headers(status=201, headers=headers)
            await self.send_body(b"")

    async with HttpCommunicator(Headed.as_asgi(), "GET", "/") as comm:
        response = await comm.get_response()
    assert (response["status"], response["headers"]) == (201, [(b"x-a", b"1"), (b"x-b", b"2")])


async def test_the_request_body_is_gathered_from_its_chunks_before_handle() -> None:
    bodies: list[bytes] = []

    class Gatherer(Hello):
        async def handle(self, body: bytes) -> None:
            bodies.append(body)
            await super().handle(body)

    async with HttpCommunicator(Gatherer.as_asgi(), "POST", "/") as comm:
        for chunk in (b"a", b"b"):
            await comm.send_input({"type": "http.request", "body": chunk, "more_body": True})
        await comm.send_input({"type": "http.request", "body": b"c"})
        comm.sent_request = True
        assert (await comm.get_response())["body"] == b"hello abc"
    assert bodies == [b"abc"]


async def test_a_response_body_streams_in_chunks_with_more_body() -> None:
    class Chunked(AsyncHttpConsumer):
        async def handle(self, body: bytes) -> None:
            await self.send_headers(headers=[(b"content-type", b"text/plain")])
            for part in (b"one ", b"two "):
                await self.send_body(part, more_body=True)
            await self.send_body(b"three")

    async with HttpCommunicator(Chunked.as_asgi(), "GET", "/") as comm:
        await comm.send_input({"type": "http.request"})
        assert await comm.receive_output() == {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
        for part, more in ((b"one ", True), (b"two ", True), (b"three", False)):
            assert await comm.receive_output() == {
                "type": "http.response.body",
                "body": part,
                "more_body": more,
            }
        await comm.wait()


async def test_disconnect_runs_once_after_the_response() -> None:
    record: list[str] = []
    async with HttpCommunicator(Hello.as_asgi(record=record), "GET", "/") as comm:
        await comm.get_response()
        await comm.wait()
    assert record == ["disconnect"]


# -- failures ------------------------------------------------------------------------------


async def test_handle_raising_answers_500_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    record: list[str] = []

    class Broken(Hello):
        async def handle(self, body: bytes) -> None:
            raise Boom("handle blew up")

    async with HttpCommunicator(Broken.as_asgi(record=record), "GET", "/broken/") as comm:
        with pytest.raises(Boom, match=r"^handle blew up$"):
            await comm.get_response()
        assert await comm.get_response() == {
            "status": 500,
            "headers": [(b"content-type", b"text/plain")],
            "body": b"Internal Server Error",
        }
        await comm.wait()
    (error,) = error_records(caplog)
    assert error.name == "callboard.consumers"
    assert error.exc_info is not None
    assert isinstance(error.exc_info[1], Boom)
    assert record == ["disconnect"]  # as in Channels, disconnect() runs after a failed handle
    assert occupancy() == (0, 0, 0)


async def test_a_consumer_without_handle_answers_500_with_not_implemented_error() -> None:
    async with HttpCommunicator(AsyncHttpConsumer.as_asgi(), "GET", "/") as comm:
        with pytest.raises(
            NotImplementedError,
            match=r"^Subclasses of AsyncHttpConsumer must provide a handle\(\) method\.$",
        ):
            await comm.get_response()
        assert (await comm.get_response())["status"] == 500


async def test_send_body_refuses_a_str() -> None:
    class Careless(AsyncHttpConsumer):
        async def handle(self, body: bytes) -> None:
            await self.send_body("text")  # type: ignore[arg-type]

    async with HttpCommunicator(Careless.as_asgi(), "GET", "/") as comm:
        with pytest.raises(TypeError, match=r"^Body must be bytes, not str\.$"):
            await comm.get_response()
        assert (await comm.get_response())["status"] == 500


async def test_a_handle_that_never_answers_times_out_and_leaves_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    record: list[str] = []

    class Stalled(Hello):
        async def handle(self, body: bytes) -> None:
            await anyio.sleep_forever()

    async with HttpCommunicator(Stalled.as_asgi(record=record), "GET", "/") as comm:
        with pytest.raises(TimeoutError, match="sent nothing within 3 s"):
            await comm.get_response(timeout=3)
    assert occupancy() == (0, 0, 0)
    assert record == []  # a cancelled exchange does not run disconnect()


# -- kept-open streams and server-sent events ----------------------------------------------


class News(AsyncHttpConsumer):
    """A server-sent event stream of the ``news`` group, kept open after ``handle``."""

    record: list[str] | None = None
    fails_on_news = False

    async def handle(self, body: bytes) -> None:
        await self.channel_layer.group_add("news", self.channel_name)  # type: ignore[union-attr]
        await self.send_headers(headers={b"content-type": b"text/event-stream"})
        await self.send_body(b"", more_body=True)
        self.keep_open = True

    async def news_item(self, event: dict[str, Any]) -> None:
        if self.fails_on_news:
            raise Boom("news blew up")
        await self.send_event(event["text"], event=event.get("event"), event_id=event.get("id"))

    async def news_end(self, event: dict[str, Any]) -> None:
        await self.send_body(b"")

    async def disconnect(self) -> None:
        if self.record is not None:
            self.record.append("disconnect")


async def _open_stream(comm: HttpCommunicator) -> None:
    await comm.send_input({"type": "http.request"})
    assert await comm.receive_output() == {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"text/event-stream")],
    }
    assert await comm.receive_output() == {
        "type": "http.response.body",
        "body": b"",
        "more_body": True,
    }


def _chunk(body: bytes, *, more_body: bool = True) -> dict[str, Any]:
    return {"type": "http.response.body", "body": body, "more_body": more_body}


async def test_keep_open_pushes_layer_messages_as_server_sent_events() -> None:
    layer = get_channel_layer()
    async with HttpCommunicator(News.as_asgi(), "GET", "/events/") as comm:
        await _open_stream(comm)
        for text in ("first", "second"):
            await layer.group_send("news", {"type": "news.item", "text": text})
            assert await comm.receive_output() == _chunk(f"data: {text}\n\n".encode())
        await comm.send_input({"type": "http.disconnect"})
        await comm.wait()


async def test_send_event_writes_the_event_name_id_and_every_data_line() -> None:
    async with HttpCommunicator(News.as_asgi(), "GET", "/events/") as comm:
        await _open_stream(comm)
        await get_channel_layer().group_send(
            "news", {"type": "news.item", "text": "a\nb", "event": "update", "id": "7"}
        )
        assert await comm.receive_output() == _chunk(b"event: update\nid: 7\ndata: a\ndata: b\n\n")


async def test_http_disconnect_ends_a_kept_open_stream_and_leaves_its_group() -> None:
    record: list[str] = []
    async with HttpCommunicator(News.as_asgi(record=record), "GET", "/events/") as comm:
        await _open_stream(comm)
        assert len(current_registry().members("news")) == 1
        await comm.send_input({"type": "http.disconnect"})
        await comm.wait()
    assert record == ["disconnect"]
    assert current_registry().members("news") == []
    assert occupancy() == (0, 0, 0)


async def test_a_handler_finishing_the_body_ends_a_kept_open_stream() -> None:
    record: list[str] = []
    async with HttpCommunicator(News.as_asgi(record=record), "GET", "/events/") as comm:
        await _open_stream(comm)
        await get_channel_layer().group_send("news", {"type": "news.end"})
        assert await comm.receive_output() == _chunk(b"", more_body=False)
        await comm.wait()
    assert record == ["disconnect"]
    assert current_registry().members("news") == []


async def test_a_stream_whose_client_left_ends_once_whatever_arrives_first(
    caplog: pytest.LogCaptureFixture,
) -> None:
    record: list[str] = []
    async with HttpCommunicator(News.as_asgi(record=record), "GET", "/events/") as comm:
        await _open_stream(comm)
        await get_channel_layer().group_send("news", {"type": "news.item", "text": "late"})
        await comm.send_input({"type": "http.disconnect"})
        await comm.wait()
    assert record == ["disconnect"]
    assert error_records(caplog) == []


async def test_a_layer_handler_raising_ends_the_started_body_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    record: list[str] = []
    app = News.as_asgi(record=record, fails_on_news=True)
    async with HttpCommunicator(app, "GET", "/events/") as comm:
        await _open_stream(comm)
        await get_channel_layer().group_send("news", {"type": "news.item", "text": "x"})
        with pytest.raises(Boom, match=r"^news blew up$"):
            await comm.receive_output()
        assert await comm.receive_output() == _chunk(b"", more_body=False)
        await comm.wait()
    assert len(error_records(caplog)) == 1
    assert record == ["disconnect"]
    assert current_registry().members("news") == []


async def test_cancelling_a_kept_open_stream_leaves_its_group() -> None:
    async with HttpCommunicator(News.as_asgi(), "GET", "/events/") as comm:
        await _open_stream(comm)
        comm.stop()
        await comm.wait()
    assert current_registry().members("news") == []
    assert occupancy() == (0, 0, 0)


async def test_a_streaming_loop_inside_handle_ends_when_the_client_leaves(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    record: list[str] = []

    class Ticker(Hello):
        async def handle(self, body: bytes) -> None:
            await self.send_headers(headers=[(b"content-type", b"text/event-stream")])
            n = 0
            while True:  # Channels' way to stream: loop in handle until sending fails
                await self.send_event(str(n))
                n += 1
                await anyio.sleep(1)

    async with HttpCommunicator(Ticker.as_asgi(record=record), "GET", "/ticks/") as comm:
        await comm.send_input({"type": "http.request"})
        assert (await comm.receive_output())["type"] == "http.response.start"
        assert await comm.receive_output() == _chunk(b"data: 0\n\n")
        assert await comm.receive_output(timeout=2) == _chunk(b"data: 1\n\n")
        await comm.send_input({"type": "http.disconnect"})
        await comm.wait(timeout=5)
    assert record == ["disconnect"]
    assert error_records(caplog) == []


# -- long polling and shutdown ----------------------------------------------------------------


class LongPoll(AsyncHttpConsumer):
    """Answers when a ``poll.answer`` message reaches the ``polls`` group."""

    keep_open = True

    async def handle(self, body: bytes) -> None:
        await self.channel_layer.group_add("polls", self.channel_name)  # type: ignore[union-attr]

    async def poll_answer(self, event: dict[str, Any]) -> None:
        await self.send_response(200, event["text"].encode())


async def test_a_long_poll_is_answered_by_a_layer_message_and_ends() -> None:
    async with HttpCommunicator(LongPoll.as_asgi(), "GET", "/poll/") as comm:
        await comm.send_input({"type": "http.request"})
        await trio.testing.wait_all_tasks_blocked()
        await get_channel_layer().group_send("polls", {"type": "poll.answer", "text": "42"})
        comm.sent_request = True
        assert (await comm.get_response())["body"] == b"42"
        await comm.wait()
    assert current_registry().members("polls") == []


async def test_shutdown_answers_a_waiting_long_poll_with_503() -> None:
    async with (
        running_supervisor() as supervisor,
        HttpCommunicator(LongPoll.as_asgi(), "GET", "/poll/") as comm,
    ):
        await comm.send_input({"type": "http.request"})
        await trio.testing.wait_all_tasks_blocked()
        await supervisor.shutdown(10)
        comm.sent_request = True
        assert await comm.get_response() == {
            "status": 503,
            "headers": [(b"content-type", b"text/plain")],
            "body": b"Service Unavailable",
        }
        await comm.wait()


async def test_shutdown_ends_an_open_stream() -> None:
    record: list[str] = []
    async with (
        running_supervisor() as supervisor,
        HttpCommunicator(News.as_asgi(record=record), "GET", "/events/") as comm,
    ):
        await _open_stream(comm)
        await supervisor.shutdown(10)
        assert await comm.receive_output() == _chunk(b"", more_body=False)
        await comm.wait()
    assert record == ["disconnect"]


async def test_shutdown_lets_a_plain_request_finish() -> None:
    gate = anyio.Event()

    class Slow(Hello):
        async def handle(self, body: bytes) -> None:
            await gate.wait()
            await super().handle(body)

    async with (
        running_supervisor() as supervisor,
        HttpCommunicator(Slow.as_asgi(), "GET", "/", body=b"anyway") as comm,
    ):
        await comm.send_input({"type": "http.request", "body": b"anyway"})
        await trio.testing.wait_all_tasks_blocked()
        supervisor.request_stop()
        gate.set()
        comm.sent_request = True
        assert (await comm.get_response())["body"] == b"hello anyway"


async def test_the_disconnect_policy_ends_a_flooded_stream() -> None:
    gate = anyio.Event()

    class Flooded(News):
        mailbox_capacity = 1
        overflow_policy = "disconnect"

        async def news_item(self, event: dict[str, Any]) -> None:
            await gate.wait()
            await super().news_item(event)

    layer = get_channel_layer()
    async with HttpCommunicator(Flooded.as_asgi(), "GET", "/events/") as comm:
        await _open_stream(comm)
        await layer.group_send("news", {"type": "news.item", "text": "0"})
        await trio.testing.wait_all_tasks_blocked()
        for text in ("1", "2"):
            await layer.group_send("news", {"type": "news.item", "text": text})
        gate.set()
        assert await comm.receive_output() == _chunk(b"data: 0\n\n")
        assert await comm.receive_output() == _chunk(b"", more_body=False)
        await comm.wait()
