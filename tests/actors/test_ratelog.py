"""Tests for ``callboard.actors._ratelog``: at most one record per key per interval."""

from __future__ import annotations

import logging
import types

import pytest

from callboard.actors import _ratelog
from callboard.actors._ratelog import RateLimitedLog

LOGGER = "tests.ratelog"


class FakeTime:
    """Stands in for the ``time`` module inside ``_ratelog``: time moves when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(_ratelog, "time", types.SimpleNamespace(monotonic=fake.monotonic))
    return fake


@pytest.fixture
def caplog_on(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    return caplog


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_first_event_for_a_key_is_logged_at_the_given_level(
    fake_time: FakeTime, caplog_on: pytest.LogCaptureFixture
) -> None:
    log = RateLimitedLog(logging.getLogger(LOGGER))
    log.log(logging.WARNING, "k", "mailbox %r dropped", "m")
    [record] = [r for r in caplog_on.records if r.name == LOGGER]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "mailbox 'm' dropped"


def test_repeats_within_the_interval_are_suppressed(
    fake_time: FakeTime, caplog_on: pytest.LogCaptureFixture
) -> None:
    log = RateLimitedLog(logging.getLogger(LOGGER), 10.0)
    for _ in range(50):
        log.log(logging.WARNING, "k", "dropped")
        fake_time.now += 0.1
    assert messages(caplog_on) == ["dropped"]


def test_next_record_after_the_interval_counts_what_was_suppressed(
    fake_time: FakeTime, caplog_on: pytest.LogCaptureFixture
) -> None:
    log = RateLimitedLog(logging.getLogger(LOGGER), 10.0)
    for _ in range(4):
        log.log(logging.WARNING, "k", "dropped %d", 1)
    fake_time.now += 10.0
    log.log(logging.WARNING, "k", "dropped %d", 2)
    log.log(logging.WARNING, "k", "dropped %d", 3)
    fake_time.now += 10.0
    log.log(logging.WARNING, "k", "dropped %d", 4)
    assert messages(caplog_on) == [
        "dropped 1",
        "dropped 2 (3 similar suppressed in the last 10 s)",
        "dropped 4 (1 similar suppressed in the last 10 s)",
    ]


def test_keys_are_limited_independently(
    fake_time: FakeTime, caplog_on: pytest.LogCaptureFixture
) -> None:
    log = RateLimitedLog(logging.getLogger(LOGGER))
    for key in ("a", "b", "a", "b", "c"):
        log.log(logging.INFO, key, "event %s", key)
    assert messages(caplog_on) == ["event a", "event b", "event c"]


def test_state_stays_bounded_when_keys_keep_changing(fake_time: FakeTime) -> None:
    # Every connection has its own key; a server that runs for months sees
    # millions of them. Keys that were suppressed once and never seen again
    # must not pile up.
    quiet = logging.getLogger(f"{LOGGER}.quiet")
    quiet.setLevel(logging.CRITICAL)
    log = RateLimitedLog(quiet)
    for n in range(25_000):
        log.log(logging.WARNING, f"dropped:{n}", "x")
        log.log(logging.WARNING, f"dropped:{n}", "x")
    assert len(log._last) <= 10_001  # private: memory is the behaviour under test
    assert len(log._suppressed) <= 10_001
