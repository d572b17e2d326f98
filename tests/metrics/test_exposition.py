"""The Prometheus text: well-formed, named ``callboard_*``, labels bounded, figures right."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trio
import trio.testing

from callboard.actors import current_registry
from callboard.consumers import AsyncWebsocketConsumer, RateLimit
from callboard.layers import channel_layers
from callboard.metrics import process_statistics, render_metrics
from callboard.testing import WebsocketCommunicator

from ._prometheus import parse


class Lobby(AsyncWebsocketConsumer):
    groups = ["lobby"]  # Channels' class attribute
    rate_limit = RateLimit(rate=1, burst=1)


@pytest.fixture(autouse=True)
def fresh_layers() -> Iterator[None]:
    channel_layers.reset()
    yield
    channel_layers.reset()


def value(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    found = [v for n, tags, v in samples if n == name and tags == labels]
    assert len(found) == 1, (name, labels, found)
    return found[0]


async def test_an_idle_process_renders_well_formed_text() -> None:
    types, samples = parse(render_metrics(process_statistics()))
    assert all(name.startswith("callboard_") for name in types)
    assert types["callboard_actors"] == "gauge"
    assert types["callboard_mailbox_undelivered_total"] == "counter"
    assert value(samples, "callboard_mailbox_undelivered_total", reason="discarded") == 0
    assert value(samples, "callboard_websocket_open") == 0


async def test_connections_actors_groups_and_drops_are_exported(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with (
        WebsocketCommunicator(Lobby.as_asgi(), "/") as first,
        WebsocketCommunicator(Lobby.as_asgi(), "/") as second,
    ):
        await first.connect()
        await second.connect()
        await first.send_to(text_data="a")
        await first.send_to(text_data="over the limit")
        await trio.testing.wait_all_tasks_blocked()
        await second.disconnect(code=1001)
        _, samples = parse(render_metrics(process_statistics()))
        assert value(samples, "callboard_actors", **{"class": "Lobby"}) == 1
        assert value(samples, "callboard_websocket_accepted_total") == 2
        assert value(samples, "callboard_websocket_open") == 1
        assert value(samples, "callboard_websocket_disconnects_total", code="1001") == 1
        assert value(samples, "callboard_rate_limited_total", **{"class": "Lobby"}) == 1
        assert value(samples, "callboard_group_members", group="lobby") == 1
        assert value(samples, "callboard_layer_sends_total", layer="default") == 0
        assert (
            value(samples, "callboard_layer_undelivered_total", layer="default", reason="expired")
            == 0
        )
        await first.disconnect()


async def test_only_the_largest_groups_get_a_series() -> None:
    registry = current_registry()
    for size, group in enumerate(["a", "b", "c", "d"], start=1):
        for n in range(size):
            registry.group_add(group, f"member{n}")
    _, samples = parse(render_metrics(process_statistics(), max_groups=2))
    groups = {tags["group"]: v for n, tags, v in samples if n == "callboard_group_members"}
    assert groups == {"d": 4, "c": 3}


def test_label_values_are_escaped() -> None:
    from callboard.metrics._exposition import _Writer

    out = _Writer()
    out.metric("odd", "gauge", "Odd labels.", [({"class": 'a"b\\c\nd'}, 1)])
    assert out.lines[-1] == 'callboard_odd{class="a\\"b\\\\c\\nd"} 1'
    _, samples = parse("\n".join(out.lines) + "\n")
    assert samples == [("callboard_odd", {"class": 'a\\"b\\\\c\\nd'}, 1.0)]


def test_a_histogram_is_written_with_cumulative_buckets() -> None:
    from callboard.layers._redis_stats import LatencyHistogram
    from callboard.metrics._exposition import _Writer

    histogram = LatencyHistogram()
    for seconds in (0.0002, 0.003, 0.003, 7.0):
        histogram.observe(seconds)
    out = _Writer()
    out.lines += ["# TYPE callboard_rt_seconds histogram"]
    out.histogram("rt_seconds", {"layer": "default"}, histogram.snapshot())
    _, samples = parse("\n".join(out.lines) + "\n")
    buckets = [(tags["le"], v) for n, tags, v in samples if n == "callboard_rt_seconds_bucket"]
    assert buckets[0] == ("0.0005", 1.0)
    assert ("0.005", 3.0) in buckets
    assert buckets[-1] == ("+Inf", 4.0)
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)
    assert value(samples, "callboard_rt_seconds_count", layer="default") == 4
    assert value(samples, "callboard_rt_seconds_sum", layer="default") == pytest.approx(7.0062)
