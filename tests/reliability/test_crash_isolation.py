"""Crash isolation under load: consumers raising at random while 1,000 clients chat.

Fifty of the 1,000 connections, picked by a seeded random generator, raise:
half in ``receive`` (a client frame), half in their group-message handler (a
room message). Only those close, with 1011; everyone else receives exactly
what the room said, no group keeps a dead member, and each error is logged
once, with its traceback. The server runs in the test's own loop so the test
reads the registry and the log directly.

Not here: a single crash (``tests/e2e/test_bad_input.py``,
``tests/consumers/test_websocket.py``).
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from functools import partial
from typing import Any

import pytest
import trio
from django.urls import path
from e2e._clients import wait_until
from e2e._server import open_server

from callboard.actors import current_runtime
from callboard.consumers import connection_statistics
from callboard.routing import ProtocolTypeRouter, URLRouter

from ._rawws import Closed, open_raw_websocket
from .apps import RoomConsumer, room_group

CLIENTS = 1000
ROOMS = 50
MESSAGES = 3
FRAGILE = 50
SEED = 9


class VolatileConsumer(RoomConsumer):
    """A room member that raises on ``boom`` from its client and on its own ``detonate``."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data == "boom":
            raise RuntimeError(f"boom in receive of {self.scope['url_route']['kwargs']['name']}")
        await super().receive(text_data=text_data)

    async def room_message(self, event: dict[str, Any]) -> None:
        name = self.scope["url_route"]["kwargs"]["name"]
        if event["text"] == f"detonate:{name}":
            raise RuntimeError(f"boom in room_message of {name}")
        await super().room_message(event)


application = ProtocolTypeRouter(
    {"websocket": URLRouter([path("ws/<str:room>/<str:name>/", VolatileConsumer.as_asgi())])}
)


def _says(name: str, role: str) -> list[str]:
    """What client ``name`` sends, in order (its last frame may be its undoing)."""
    if role == "receive":
        return [f"{name}:0", "boom"]
    if role == "handler":
        return [f"{name}:0", f"detonate:{name}"]
    return [f"{name}:{number}" for number in range(MESSAGES)]


def _heard(text: str) -> bool:
    """Whether the room relays ``text`` to its members (``boom`` never reaches the room)."""
    return text != "boom"


async def _client(
    port: int,
    room: str,
    name: str,
    role: str,
    expected: int,
    outcome: dict[str, Any],
    chatted: trio.Semaphore,
    connected: trio.Semaphore,
    go: trio.Event,
    leave: trio.Event,
) -> None:
    async with open_raw_websocket("127.0.0.1", port, f"/ws/{room}/{name}/") as ws:
        connected.release()
        await go.wait()
        for text in _says(name, role):
            await ws.send_text(text)
        received: list[str] = []
        try:
            while role != "normal" or len(received) < expected:
                message = await ws.receive_message()
                assert isinstance(message, str)
                received.append(message)
        except Closed as closed:
            outcome[name] = (closed.code, received)
            return
        finally:
            chatted.release()
        outcome[name] = ("open", received)
        await leave.wait()
        await ws.close()


async def test_consumers_raising_at_random_among_1000_chatting_close_only_themselves(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="callboard.consumers")
    chooser = random.Random(SEED)
    names = [f"c{number}" for number in range(CLIENTS)]
    fragile = chooser.sample(names, FRAGILE)
    roles = dict.fromkeys(names, "normal")
    roles.update(dict.fromkeys(fragile[: FRAGILE // 2], "receive"))
    roles.update(dict.fromkeys(fragile[FRAGILE // 2 :], "handler"))
    rooms = {name: f"r{number % ROOMS}" for number, name in enumerate(names)}
    said: dict[str, list[str]] = {}
    for name in names:
        said.setdefault(rooms[name], []).extend(t for t in _says(name, roles[name]) if _heard(t))
    outcome: dict[str, Any] = {}
    connected, chatted = trio.Semaphore(0), trio.Semaphore(0)
    go, leave = trio.Event(), trio.Event()
    async with open_server(application, graceful_timeout=1.0) as server:
        port = int(server.url.rsplit(":", 1)[1])
        with trio.fail_after(120):
            async with trio.open_nursery() as nursery:
                for name in names:
                    nursery.start_soon(
                        partial(
                            _client,
                            port,
                            rooms[name],
                            name,
                            roles[name],
                            len(said[rooms[name]]),
                            outcome,
                            chatted,
                            connected,
                            go,
                            leave,
                        )
                    )
                for _ in names:
                    await connected.acquire()
                started = trio.current_time()
                go.set()
                for _ in names:
                    await chatted.acquire()
                chatted_in = trio.current_time() - started
                # Every crash has happened; the survivors are still connected.
                await wait_until(lambda: current_runtime().statistics().actors == CLIENTS - FRAGILE)
                stats = current_runtime().statistics()
                survivors = Counter(rooms[n] for n in names if roles[n] == "normal")
                assert stats.group_sizes == {room_group(r): n for r, n in survivors.items()}
                assert stats.registry.memberships == CLIENTS - FRAGILE
                leave.set()
        await wait_until(lambda: current_runtime().statistics().actors == 0)
        assert current_runtime().statistics().registry.memberships == 0
    codes = Counter(code for code, _ in outcome.values())
    assert codes == {"open": CLIENTS - FRAGILE, 1011: FRAGILE}
    for name in names:
        code, received = outcome[name]
        if roles[name] == "normal":
            assert sorted(received) == sorted(said[rooms[name]]), name
        else:
            assert code == 1011, name
    crashes = [r for r in caplog.records if "crashed" in r.getMessage()]
    assert len(crashes) == FRAGILE == connection_statistics().crashes
    assert all(r.exc_info is not None and r.exc_info[2] is not None for r in crashes)
    assert sorted(str(r.exc_info[1]) for r in crashes if r.exc_info) == sorted(
        f"boom in {'receive' if roles[n] == 'receive' else 'room_message'} of {n}" for n in fragile
    )
    print(
        f"\ncrash isolation: {CLIENTS} clients in {ROOMS} rooms, {FRAGILE} raising "
        f"({FRAGILE // 2} in receive, {FRAGILE // 2} in room_message); everyone had heard "
        f"everything in {chatted_in:.1f} s; {FRAGILE} closed 1011, {CLIENTS - FRAGILE} "
        f"unaffected, {len(crashes)} error records"
    )
