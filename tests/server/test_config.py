"""ServerConfig: validation, settings-style construction, and its hypercorn form."""

from __future__ import annotations

import math

import attrs
import pytest

from callboard.server import DEFAULT_MAX_MESSAGE_SIZE, ServerConfig


def test_defaults_listen_on_loopback_with_one_worker_and_a_one_mib_message_limit() -> None:
    config = ServerConfig()
    assert config.bind == ("127.0.0.1:8000",)
    assert config.workers == 1
    assert config.websocket_max_message_size == DEFAULT_MAX_MESSAGE_SIZE == 1024 * 1024
    assert config.backlog == 2048  # hypercorn's 100 resets connection bursts
    assert config.graceful_timeout == 5.0
    assert config.close_timeout == 1.0
    assert config.keep_alive_timeout == 5.0
    assert config.access_log is False
    assert config.root_path == ""


def test_it_is_frozen() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ServerConfig().workers = 2  # type: ignore[misc]


def test_one_bind_address_may_be_given_as_a_string() -> None:
    assert ServerConfig(bind="0.0.0.0:80").bind == ("0.0.0.0:80",)
    assert ServerConfig(bind=["a:1", "unix:/tmp/s"]).bind == ("a:1", "unix:/tmp/s")


def test_bind_needs_at_least_one_address() -> None:
    with pytest.raises(ValueError, match="bind needs at least one address"):
        ServerConfig(bind=())


@pytest.mark.parametrize("address", ["", 8000, None])
def test_bind_addresses_are_non_empty_strings(address: object) -> None:
    with pytest.raises(TypeError, match="bind addresses are non-empty str"):
        ServerConfig(bind=[address])  # type: ignore[list-item]


@pytest.mark.parametrize("name", ["workers", "websocket_max_message_size", "backlog"])
@pytest.mark.parametrize("value", [0, -1])
def test_counts_must_be_positive(name: str, value: int) -> None:
    with pytest.raises(ValueError, match=f"{name} must be positive, got {value}"):
        ServerConfig(**{name: value})


@pytest.mark.parametrize("name", ["workers", "websocket_max_message_size", "backlog"])
@pytest.mark.parametrize("value", [1.5, "2", True])
def test_counts_must_be_ints(name: str, value: object) -> None:
    with pytest.raises(TypeError, match=f"{name} must be an int, got {value!r}"):
        ServerConfig(**{name: value})


@pytest.mark.parametrize("name", ["graceful_timeout", "close_timeout"])
def test_grace_periods_may_be_zero_but_not_negative(name: str) -> None:
    assert getattr(ServerConfig(**{name: 0}), name) == 0
    with pytest.raises(ValueError, match=f"{name} must not be negative, got -0.5"):
        ServerConfig(**{name: -0.5})
    with pytest.raises(ValueError, match=f"{name} must not be negative, got nan"):
        ServerConfig(**{name: math.nan})


def test_keep_alive_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="keep_alive_timeout must be positive, got 0"):
        ServerConfig(keep_alive_timeout=0)


@pytest.mark.parametrize("name", ["graceful_timeout", "close_timeout", "keep_alive_timeout"])
def test_durations_must_be_numbers(name: str) -> None:
    with pytest.raises(TypeError, match=f"{name} must be a number of seconds, got '5'"):
        ServerConfig(**{name: "5"})


def test_root_path_is_empty_or_starts_with_a_slash() -> None:
    assert ServerConfig(root_path="/chat").root_path == "/chat"
    with pytest.raises(
        ValueError, match=r"root_path is empty or starts with '/', like '/chat'; got 'chat'"
    ):
        ServerConfig(root_path="chat")


def test_access_log_is_a_bool() -> None:
    with pytest.raises(TypeError, match="access_log"):
        ServerConfig(access_log="yes")  # type: ignore[arg-type]


def test_from_mapping_takes_attribute_names_in_any_case() -> None:
    config = ServerConfig.from_mapping(
        {"BIND": ["127.0.0.1:0"], "Workers": 3, "graceful_timeout": 2.5}
    )
    assert config == ServerConfig(bind=("127.0.0.1:0",), workers=3, graceful_timeout=2.5)


def test_from_mapping_rejects_an_unknown_key_and_lists_the_valid_ones() -> None:
    valid = (
        "access_log, backlog, bind, close_timeout, gc_threshold, graceful_timeout, "
        "keep_alive_timeout, "
        "root_path, websocket_max_message_size, workers"
    )
    with pytest.raises(ValueError, match=rf"Unknown server setting\(s\) 'port'; valid: {valid}\."):
        ServerConfig.from_mapping({"PORT": 8000})


def test_from_mapping_validates_values() -> None:
    with pytest.raises(ValueError, match="workers must be positive, got 0"):
        ServerConfig.from_mapping({"workers": 0})


def test_to_hypercorn_maps_every_setting() -> None:
    config = ServerConfig(
        bind=("127.0.0.1:0", "unix:/tmp/callboard.sock"),
        workers=2,
        websocket_max_message_size=4096,
        backlog=512,
        graceful_timeout=7.0,
        keep_alive_timeout=9.0,
        access_log=True,
        root_path="/chat",
    ).to_hypercorn()
    assert config.bind == ["127.0.0.1:0", "unix:/tmp/callboard.sock"]
    assert config.workers == 2
    assert config.websocket_max_message_size == 4096
    assert config.backlog == 512
    assert config.graceful_timeout == 7.0
    assert config.keep_alive_timeout == 9.0
    assert config.accesslog == "-"
    assert config.root_path == "/chat"


def test_to_hypercorn_keeps_the_access_log_off_by_default() -> None:
    config = ServerConfig().to_hypercorn()
    assert config.accesslog is None
    assert config.websocket_max_message_size == DEFAULT_MAX_MESSAGE_SIZE
