"""The channel-layer API against a reference model, on the in-memory and the Redis layer.

Hypothesis writes a program of layer calls — ``send``, ``receive``,
``group_add``, ``group_discard``, ``group_send``, ``flush`` — over a few
channel names (general ones and ``new_channel()`` ones), group names, an
invalid name now and then, and a random capacity. Each call runs on the real
layer and on :class:`Model`, a few dicts and deques that say what Channels'
layer API means: a send to a full general channel raises ``ChannelFull``, a
group send skips full members silently, a receive returns the oldest
message, an invalid name raises ``InvalidNameError`` and changes nothing. The
two must agree after every step, and at the end every channel must hold
exactly what the model holds.

The Redis layer runs against a real ``redis-server`` (this module's own),
each example under a fresh key prefix.

Not here: layer-specific behaviour (``tests/layers``), expiry (timed, in
``tests/layers/test_inmemory.py``).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
from _redis_service import RedisServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callboard.exceptions import ChannelFull, InvalidNameError
from callboard.layers import InMemoryChannelLayer, RedisChannelLayer

GENERAL = ["alpha", "beta.gamma", "q-1"]
LOCAL = 2
"""How many ``new_channel()`` names a program uses besides the general ones."""
GROUPS = ["g1", "room-2.x"]
BAD_CHANNELS = ["bad name", "", "x" * 100, "a!b!c", "caf\u00e9"]
BAD_GROUPS = ["with space", "x" * 100, "g!1", ""]
EMPTY_WAIT = 0.05
"""Seconds a receive waits on a channel the model says is empty."""
LOCAL_CAPACITY = 1000
"""``new_channel()`` names are not filled by a program (their capacity is the process's)."""

_prefixes = itertools.count(1)


@attrs.define
class Model:
    """What the layer API means, with nothing in between: queues and sets."""

    capacity: int
    queues: dict[str, deque[int]] = attrs.field(factory=dict)
    groups: dict[str, set[str]] = attrs.field(factory=dict)

    def _limit(self, channel: str) -> int:
        return LOCAL_CAPACITY if "!" in channel else self.capacity

    def send(self, channel: str, number: int) -> bool:
        """Whether it was queued (``False``: ChannelFull)."""
        queue = self.queues.setdefault(channel, deque())
        if len(queue) >= self._limit(channel):
            return False
        queue.append(number)
        return True

    def group_send(self, group: str, number: int) -> None:
        for channel in sorted(self.groups.get(group, ())):
            self.send(channel, number)

    def receive(self, channel: str) -> int | None:
        queue = self.queues.get(channel)
        return queue.popleft() if queue else None

    def flush(self) -> None:
        self.queues.clear()
        self.groups.clear()


Call = tuple[Any, ...]

_channel = st.integers(0, len(GENERAL) + LOCAL - 1)
_group = st.integers(0, len(GROUPS) - 1)
_calls = st.one_of(
    st.tuples(st.just("send"), _channel),
    st.tuples(st.just("send"), _channel),
    st.tuples(st.just("receive"), _channel),
    st.tuples(st.just("receive"), _channel),
    st.tuples(st.just("group_add"), _group, _channel),
    st.tuples(st.just("group_discard"), _group, _channel),
    st.tuples(st.just("group_send"), _group),
    st.tuples(st.just("flush")),
    st.tuples(st.just("bad_send"), st.sampled_from(BAD_CHANNELS)),
    st.tuples(st.just("bad_group_add"), st.sampled_from(BAD_GROUPS), _channel),
    st.tuples(st.just("bad_group_send"), st.sampled_from(BAD_GROUPS)),
)
_programs = st.tuples(st.integers(1, 4), st.lists(_calls, min_size=1, max_size=30))


async def _run(layer: Any, capacity: int, program: list[Call]) -> None:
    """Run ``program`` on ``layer`` and on a model; they must agree at every step."""
    model = Model(capacity)
    channels = GENERAL + [await layer.new_channel() for _ in range(LOCAL)]
    numbers = itertools.count()
    touched: set[str] = set()
    for call in program:
        kind = call[0]
        if kind in ("send", "group_add"):
            touched.add(channels[call[-1]])
        if kind == "send":
            channel, number = channels[call[1]], next(numbers)
            queued = model.send(channel, number)
            try:
                await layer.send(channel, {"type": "m", "n": number})
            except ChannelFull:
                assert not queued, (call, model)
            else:
                assert queued, (call, model)
        elif kind == "receive":
            channel = channels[call[1]]
            expected = model.receive(channel)
            if expected is not None:  # an empty one is checked at the end
                with trio.fail_after(5):
                    assert (await layer.receive(channel))["n"] == expected, (call, model)
        elif kind == "group_add":
            model.groups.setdefault(GROUPS[call[1]], set()).add(channels[call[2]])
            await layer.group_add(GROUPS[call[1]], channels[call[2]])
        elif kind == "group_discard":
            model.groups.get(GROUPS[call[1]], set()).discard(channels[call[2]])
            await layer.group_discard(GROUPS[call[1]], channels[call[2]])
        elif kind == "group_send":
            number = next(numbers)
            model.group_send(GROUPS[call[1]], number)
            await layer.group_send(GROUPS[call[1]], {"type": "m", "n": number})
        elif kind == "flush":
            model.flush()
            await layer.flush()
        elif kind == "bad_send":
            with pytest.raises(InvalidNameError, match="Invalid channel name"):
                await layer.send(call[1], {"type": "m"})
        elif kind == "bad_group_add":
            with pytest.raises(InvalidNameError, match="Invalid group name"):
                await layer.group_add(call[1], channels[call[2]])
        else:
            assert kind == "bad_group_send"
            with pytest.raises(InvalidNameError, match="Invalid group name"):
                await layer.group_send(call[1], {"type": "m"})
    # Every channel holds exactly what the model holds, in order, and nothing more.
    for channel in channels:
        for expected in model.queues.get(channel, ()):
            with trio.fail_after(5):
                assert (await layer.receive(channel))["n"] == expected, (channel, model)
    if isinstance(layer, InMemoryChannelLayer):
        assert layer.statistics().queued == 0, model
        return
    for channel in sorted(touched):
        with trio.move_on_after(EMPTY_WAIT):
            extra = await layer.receive(channel)
            raise AssertionError(f"{channel} held {extra} beyond the model {model}")


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )


@_settings(500)
@given(program=_programs)
def test_the_in_memory_layer_agrees_with_the_model(program: tuple[int, list[Call]]) -> None:
    capacity, calls = program

    async def scenario() -> None:
        layer = InMemoryChannelLayer(capacity=capacity, channel_capacity={"specific.*": 1000})
        await _run(layer, capacity, calls)

    trio.run(scenario)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server for this module's examples."""
    server = RedisServer(Path(tmp_path_factory.mktemp("model-redis"))).start()
    try:
        yield server.url
    finally:
        server.kill()


@_settings(60)
@given(program=_programs)
def test_the_redis_layer_agrees_with_the_model(
    redis_url: str, program: tuple[int, list[Call]]
) -> None:
    capacity, calls = program

    async def scenario() -> None:
        layer = RedisChannelLayer(
            hosts=[redis_url],
            prefix=f"model{next(_prefixes)}:",
            capacity=capacity,
            channel_capacity={"specific.*": LOCAL_CAPACITY},
        )
        async with layer.open():
            await _run(layer, capacity, calls)
            await layer.flush()

    trio.run(scenario)
