"""Fuzzing every consumer class with ASGI events in any order, through the communicator.

Hypothesis writes the conversation: ``connect`` (at most once, as a server
sends it) anywhere, frames of any text or bytes, ``disconnect`` with any code
anywhere and again, frames after it, channel-layer group messages in
between, and pauses that let the consumer run. Whatever the order:

- no exception escapes the framework (the communicator re-raises a
  consumer's error, and these consumers' own code never raises);
- the connection ends once a disconnect was sent;
- what the consumer sent is a valid conversation: at most one accept, and
  nothing after its close (or after the end of an HTTP response);
- nothing is left: no actor, mailbox, group member or task.

Each example runs in its own ``trio.run``, so it has its own runtime.

Not here: what each event does in order (``tests/consumers``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callboard.actors import current_runtime
from callboard.consumers import (
    AsyncConsumer,
    AsyncHttpConsumer,
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketConsumer,
    JsonWebsocketConsumer,
    SyncConsumer,
    WebsocketConsumer,
)
from callboard.exceptions import StopConsumer
from callboard.layers import get_channel_layer
from callboard.testing import ApplicationCommunicator

from ._measure import live_tasks

GROUP = "fuzz"
END_TIMEOUT = 5.0
"""Seconds a consumer may take to end after its disconnect (sync ones use threads)."""


# -- one consumer of each class ------------------------------------------------------------


class AsyncWebsocketFuzz(AsyncWebsocketConsumer):
    groups = [GROUP]

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send(text_data=text_data, bytes_data=bytes_data)

    async def fuzz_note(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


class WebsocketFuzz(WebsocketConsumer):
    groups = [GROUP]

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        self.send(text_data=text_data, bytes_data=bytes_data)

    def fuzz_note(self, event: dict[str, Any]) -> None:
        self.send(text_data=event["text"])


class AsyncJsonFuzz(AsyncJsonWebsocketConsumer):
    groups = [GROUP]

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.send_json(content)

    async def fuzz_note(self, event: dict[str, Any]) -> None:
        await self.send_json({"note": event["text"]})


class JsonFuzz(JsonWebsocketConsumer):
    groups = [GROUP]

    def receive_json(self, content: Any, **kwargs: Any) -> None:
        self.send_json(content)

    def fuzz_note(self, event: dict[str, Any]) -> None:
        self.send_json({"note": event["text"]})


class AsyncGenericFuzz(AsyncConsumer):
    """Channels' low-level style: ``websocket.*`` handlers on the plain consumer."""

    async def websocket_connect(self, event: dict[str, Any]) -> None:
        assert self.channel_layer is not None
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.send({"type": "websocket.accept"})

    async def websocket_receive(self, event: dict[str, Any]) -> None:
        await self.send({"type": "websocket.send", "text": event.get("text") or "(bytes)"})

    async def websocket_disconnect(self, event: dict[str, Any]) -> None:
        assert self.channel_layer is not None
        await self.channel_layer.group_discard(GROUP, self.channel_name)
        raise StopConsumer

    async def fuzz_note(self, event: dict[str, Any]) -> None:
        await self.send({"type": "websocket.send", "text": event["text"]})


class SyncGenericFuzz(SyncConsumer):
    def websocket_connect(self, event: dict[str, Any]) -> None:
        self.send({"type": "websocket.accept"})

    def websocket_receive(self, event: dict[str, Any]) -> None:
        self.send({"type": "websocket.send", "text": event.get("text") or "(bytes)"})

    def websocket_disconnect(self, event: dict[str, Any]) -> None:
        raise StopConsumer

    def fuzz_note(self, event: dict[str, Any]) -> None:
        self.send({"type": "websocket.send", "text": event["text"]})


class HttpFuzz(AsyncHttpConsumer):
    async def handle(self, body: bytes) -> None:
        await self.send_response(200, b"%d bytes" % len(body))


WEBSOCKET_CONSUMERS = [
    AsyncWebsocketFuzz,
    WebsocketFuzz,
    AsyncJsonFuzz,
    JsonFuzz,
    AsyncGenericFuzz,
    SyncGenericFuzz,
]


# -- conversations ------------------------------------------------------------------------

Step = dict[str, Any]
"""An ASGI event, or ``{"type": "layer"}`` (a group message) or ``{"type": "pause"}``."""

_text = st.text(max_size=40) | st.sampled_from(['{"a": 1}', "[1, 2]", "{bad", "null", ""])
_frame = st.one_of(
    st.builds(lambda text: {"type": "websocket.receive", "text": text}, _text),
    st.builds(lambda data: {"type": "websocket.receive", "bytes": data}, st.binary(max_size=40)),
)
_disconnect = st.builds(
    lambda code: {"type": "websocket.disconnect", "code": code},
    st.sampled_from([1000, 1001, 1005, 1006, 1011, 4000]),
)
_aside = st.sampled_from([{"type": "layer"}, {"type": "pause"}])


@st.composite
def websocket_conversations(draw: st.DrawFn) -> list[Step]:
    """Frames, disconnects, group messages and pauses, with one connect somewhere (or none)."""
    steps: list[Step] = draw(st.lists(st.one_of(_frame, _disconnect, _aside), max_size=12))
    if draw(st.booleans()) or not steps:
        steps.insert(draw(st.integers(0, len(steps))), {"type": "websocket.connect"})
    return steps


_request = st.builds(
    lambda body, more: {"type": "http.request", "body": body, "more_body": more},
    st.binary(max_size=20),
    st.booleans(),
)


@st.composite
def http_conversations(draw: st.DrawFn) -> list[Step]:
    """Request parts (finished or not), disconnects and pauses in any order."""
    others = st.one_of(st.just({"type": "http.disconnect"}), st.just({"type": "pause"}))
    steps: list[Step] = draw(st.lists(_request | others, max_size=10))
    return steps


# -- running one ------------------------------------------------------------------------------


def _scope(kind: str) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": kind,
        "path": "/fuzz/",
        "raw_path": b"/fuzz/",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }
    if kind == "websocket":
        scope["subprotocols"] = []
    else:
        scope.update(method="POST", http_version="1.1", scheme="http")
    return scope


async def _converse(
    consumer: type[AsyncConsumer], kind: str, steps: list[Step]
) -> list[dict[str, Any]]:
    """Play ``steps`` to a fresh ``consumer``; end the connection; return what it sent."""
    tasks = live_tasks()
    disconnect = {"type": f"{kind}.disconnect", "code": 1000}
    if kind == "http":
        del disconnect["code"]
    layer = get_channel_layer()
    async with ApplicationCommunicator(consumer.as_asgi(), _scope(kind)) as communicator:
        for step in [*steps, {"type": "pause"}, disconnect]:
            if step["type"] == "layer":
                await layer.group_send(GROUP, {"type": "fuzz.note", "text": "note"})
            elif step["type"] == "pause":
                await trio.testing.wait_all_tasks_blocked()
            else:
                await communicator.send_input(step)
        await communicator.wait(END_TIMEOUT)  # re-raises whatever escaped the consumer
        sent: list[dict[str, Any]] = []
        while True:
            try:
                sent.append(dict(await communicator.receive_output(0)))
            except TimeoutError:
                break
    stats = current_runtime().statistics()
    registry = stats.registry
    assert (stats.actors, registry.mailboxes, registry.groups, registry.memberships) == (
        0,
        0,
        0,
        0,
    )
    assert live_tasks() == tasks
    return sent


def _check_websocket(sent: list[dict[str, Any]]) -> None:
    kinds = [event["type"] for event in sent]
    assert set(kinds) <= {"websocket.accept", "websocket.send", "websocket.close"}, kinds
    assert kinds.count("websocket.accept") <= 1, kinds
    if "websocket.close" in kinds:
        assert kinds.index("websocket.close") == len(kinds) - 1, kinds  # nothing after it
    for event in sent:
        if event["type"] == "websocket.send":
            assert (event.get("text") is None) != (event.get("bytes") is None), event


def _check_http(sent: list[dict[str, Any]]) -> None:
    kinds = [event["type"] for event in sent]
    assert set(kinds) <= {"http.response.start", "http.response.body"}, kinds
    if kinds:
        assert kinds[0] == "http.response.start", kinds
        assert kinds.count("http.response.start") == 1, kinds
    ended = False  # a response the client left in the middle of stays unfinished
    for event in sent[1:]:
        assert not ended, sent  # nothing after the last body
        ended = not event.get("more_body", False)


def _run(scenario: Callable[[], Any]) -> None:
    trio.run(scenario)


_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("consumer", WEBSOCKET_CONSUMERS, ids=lambda c: c.__name__)
@_SETTINGS
@given(steps=websocket_conversations())
def test_a_websocket_consumer_survives_any_order_of_events_and_leaves_nothing(
    consumer: type[AsyncConsumer], steps: list[Step]
) -> None:
    async def scenario() -> None:
        _check_websocket(await _converse(consumer, "websocket", steps))

    _run(scenario)


@_SETTINGS
@given(steps=http_conversations())
def test_an_http_consumer_survives_any_order_of_events_and_leaves_nothing(
    steps: list[Step],
) -> None:
    async def scenario() -> None:
        sent = await _converse(HttpFuzz, "http", steps)
        _check_http(sent)
        # A finished request that the consumer saw, with time to answer, before
        # the client left, is answered (after the steps: a pause, then a disconnect).
        played = [*steps, {"type": "pause"}, {"type": "http.disconnect"}]
        kinds = [step["type"] for step in played]
        gone = kinds.index("http.disconnect")
        finished = next(
            (i for i, s in enumerate(played) if s["type"] == "http.request" and not s["more_body"]),
            gone,
        )
        if finished < gone and "pause" in kinds[finished:gone]:
            assert [e["type"] for e in sent] == ["http.response.start", "http.response.body"]

    _run(scenario)
