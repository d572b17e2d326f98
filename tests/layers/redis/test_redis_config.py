"""Configuring the Redis layers as channels_redis is configured, and the clear errors."""

from __future__ import annotations

import pytest

from callboard.exceptions import InvalidChannelLayerError
from callboard.layers import (
    ChannelLayerManager,
    RedisChannelLayer,
    RedisPubSubChannelLayer,
)


def test_hosts_accept_channels_redis_shapes() -> None:
    layer = RedisChannelLayer(
        hosts=[
            "redis://:secret@localhost:6379/1",
            ("127.0.0.1", 6380),
            {"address": "redis://localhost:6381", "socket_timeout": 2},
            {"host": "localhost", "port": 6382, "db": 2},
            {"master_name": "main", "sentinels": [("localhost", 26379)], "password": "pw"},
        ]
    )
    labels = [host.label for host in layer.hosts]
    assert labels == [
        "redis://:***@localhost:6379/1",
        "redis://127.0.0.1:6380",
        "redis://localhost:6381",
        "redis://localhost:6382",
        "sentinel 'main' via localhost:26379",
    ]
    assert layer.hosts[2].options == {"stream_timeout": 2}
    assert layer.ring_size == 5


def test_no_hosts_means_localhost() -> None:
    assert [h.label for h in RedisChannelLayer().hosts] == ["redis://localhost:6379"]


@pytest.mark.parametrize(
    ("hosts", "match"),
    [
        ("redis://localhost", r"hosts must be a list of Redis hosts, even for one"),
        (["http://localhost"], r"a Redis URL starts with redis://"),
        (["redis+cluster://localhost"], r"Redis Cluster is not supported"),
        ([{"host": "x", "cluster": True}], r"Redis Cluster is not supported"),
        ([{"master_name": "main"}], r"a Sentinel entry needs 'sentinels'"),
        (
            [{"host": "x", "bogus_option": 1}],
            r"hosts\[0\] .* has an option coredis does not accept",
        ),
    ],
)
def test_bad_hosts_are_refused_clearly(hosts: object, match: str) -> None:
    with pytest.raises(InvalidChannelLayerError, match=match):
        RedisChannelLayer(hosts=hosts)


def test_unknown_option_lists_the_valid_ones() -> None:
    with pytest.raises(
        InvalidChannelLayerError, match=r"unknown option\(s\) 'capacty'.*'send_timeout'"
    ):
        RedisChannelLayer(capacty=10)


def test_encryption_keys_must_be_a_list() -> None:
    with pytest.raises(InvalidChannelLayerError, match="must be a list of keys"):
        RedisChannelLayer(symmetric_encryption_keys="one-key")


@pytest.mark.parametrize(
    ("path", "cls"),
    [
        ("channels_redis.core.RedisChannelLayer", RedisChannelLayer),
        ("channels_redis.pubsub.RedisPubSubChannelLayer", RedisPubSubChannelLayer),
    ],
)
def test_channels_redis_backend_paths_are_translated(path: str, cls: type) -> None:
    manager = ChannelLayerManager(
        {
            "default": {
                "BACKEND": path,
                "CONFIG": {"hosts": ["redis://localhost:6379"], "prefix": "p"},
            }
        }
    )
    layer = manager.get("default")
    assert type(layer) is cls
    assert layer.prefix == "p"  # type: ignore[attr-defined]  # a Redis layer's attribute
