"""Offload: homes (bound, primary, restored), runs_at_home from threads, the offload wrapper."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from callboard.actors import (
    DEFAULT_THREAD_LIMIT,
    _offload,
    bind_home,
    call_at_home,
    call_sync_at_home,
    current_home,
    current_offload_pool,
    primary_home,
    run_in_pool,
    run_sync,
    runs_at_home,
    set_offload_wrapper,
)


@runs_at_home
async def where_am_i() -> int:
    return threading.get_ident()


async def test_runs_at_home_from_a_worker_thread_comes_back_to_the_loop() -> None:
    loop_thread = threading.get_ident()

    def in_thread() -> tuple[int, int]:
        # Code in a worker thread with an event loop of its own (as asgiref's
        # async_to_sync makes one) still gets where_am_i run on the home loop.
        return threading.get_ident(), asyncio.run(where_am_i())

    worker, ran_on = await run_sync(in_thread)
    assert worker != loop_thread
    assert ran_on == loop_thread


async def test_bind_home_puts_the_loop_into_a_context_for_a_thread() -> None:
    context = contextvars.copy_context()
    home = bind_home(context)
    assert home.thread_id == threading.get_ident()
    assert context.run(current_home) is home
    assert current_home() is home


async def test_primary_home_is_restored_after_the_block() -> None:
    before = _offload._primary
    with primary_home() as home:
        assert _offload._primary is home
        seen: list[Any] = []
        thread = threading.Thread(target=lambda: seen.append(current_home()))
        thread.start()
        thread.join()
        assert seen == [home]  # a plain thread finds the primary home
    assert _offload._primary is before


async def test_another_loops_primary_home_survives_the_block_ending() -> None:
    before = _offload._primary
    try:
        with primary_home() as home:
            _offload.set_primary_home()  # the same loop again: still this block's
            newer = _offload._primary = attrs.evolve(home, thread_id=home.thread_id + 1)
        assert _offload._primary is newer
        with primary_home():
            pass
        assert _offload._primary is newer
    finally:
        _offload._primary = before


async def test_the_offload_wrapper_wraps_every_call_in_its_thread() -> None:
    calls: list[int] = []

    def wrapper(call: Callable[[], Any]) -> Any:
        calls.append(threading.get_ident())
        return call() * 2

    previous = set_offload_wrapper(wrapper)
    try:
        assert await run_sync(lambda: 21) == 42
    finally:
        set_offload_wrapper(previous)
    assert calls
    assert calls[0] != threading.get_ident()
    assert await run_sync(lambda: 21) == 21


@pytest.mark.anyio
async def test_run_in_pool_runs_wrapped_and_can_call_home() -> None:
    loop_thread = threading.get_ident()
    wrapped: list[str] = []

    def wrapper(call: Callable[[], Any]) -> Any:
        wrapped.append(threading.current_thread().name)
        return call()

    def handler(value: int) -> tuple[int, int, int]:
        at_home = call_at_home(where_am_i)
        soon = call_sync_at_home(threading.get_ident)
        return value * 2, at_home, soon

    previous = set_offload_wrapper(wrapper)
    try:
        doubled, at_home, soon = await run_in_pool(handler, 21)
    finally:
        set_offload_wrapper(previous)
    assert doubled == 42
    assert at_home == loop_thread
    assert soon == loop_thread
    assert len(wrapped) == 1
    assert wrapped[0] != threading.current_thread().name


async def test_run_in_pool_uses_the_process_offload_pool_under_trio() -> None:
    name = await run_in_pool(lambda: threading.current_thread().name)
    assert name.startswith("callboard-offload-")
    assert current_offload_pool().statistics().completed >= 1
    assert current_offload_pool().size == DEFAULT_THREAD_LIMIT
