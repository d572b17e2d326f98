"""The Channels tutorial's chat, served by ``callboard.server.serve`` to real WebSocket clients."""

from __future__ import annotations

import json
from collections import defaultdict

import trio
from trio_websocket import WebSocketConnection

from callboard.actors import current_runtime

from ._clients import open_websocket, wait_until
from ._server import RunningServer

CLIENTS = 100
MESSAGES_PER_CLIENT = 3
BATCHES = 10
"""1,000 connections in all, ``CLIENTS`` at a time."""


async def _chat_client(
    server: RunningServer,
    room: str,
    name: str,
    *,
    connected: trio.Semaphore,
    go: trio.Event,
    received: list[str],
) -> None:
    async with open_websocket(server.url, f"/ws/chat/{room}/") as ws:
        connected.release()
        await go.wait()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_read, ws, received, CLIENTS * MESSAGES_PER_CLIENT)
            for number in range(MESSAGES_PER_CLIENT):
                await ws.send_message(json.dumps({"message": f"{name}:{number}"}))


async def _read(ws: WebSocketConnection, into: list[str], count: int) -> None:
    for _ in range(count):
        into.append(json.loads(await ws.get_message())["message"])


async def test_every_client_in_a_room_of_100_receives_every_message_in_order_per_sender(
    chat_server: RunningServer,
) -> None:
    names = [f"client{index}" for index in range(CLIENTS)]
    received: dict[str, list[str]] = {name: [] for name in names}
    connected = trio.Semaphore(0, max_value=CLIENTS)
    go = trio.Event()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            for name in names:
                nursery.start_soon(
                    lambda name=name: _chat_client(
                        chat_server,
                        "lobby",
                        name,
                        connected=connected,
                        go=go,
                        received=received[name],
                    )
                )
            for _ in names:  # everyone is in the room before anyone speaks
                await connected.acquire()
            go.set()

    expected = {f"{name}:{number}" for name in names for number in range(MESSAGES_PER_CLIENT)}
    for name in names:
        assert sorted(received[name]) == sorted(expected), name
        by_sender: dict[str, list[int]] = defaultdict(list)
        for message in received[name]:
            sender, number = message.split(":")
            by_sender[sender].append(int(number))
        assert all(numbers == list(range(MESSAGES_PER_CLIENT)) for numbers in by_sender.values())


def _occupancy() -> tuple[int, int, int, int]:
    """Live actors, registered mailboxes, groups and memberships of this loop's runtime."""
    stats = current_runtime().statistics()
    return (
        stats.actors,
        stats.registry.mailboxes,
        stats.registry.groups,
        stats.registry.memberships,
    )


async def _connect_talk_leave(server: RunningServer, room: str) -> None:
    async with open_websocket(server.url, f"/ws/chat/{room}/") as ws:
        await ws.send_message(json.dumps({"message": "hello"}))
        assert json.loads(await ws.get_message()) == {"message": "hello"}


async def test_1000_connections_that_open_and_close_leave_no_actor_mailbox_or_membership(
    chat_server: RunningServer,
) -> None:
    before = _occupancy()
    supervisor = current_runtime().supervisor
    assert supervisor is not None
    with trio.fail_after(30):
        for batch in range(BATCHES):
            async with trio.open_nursery() as nursery:
                for client in range(CLIENTS):
                    # Some rooms shared within a batch, some of a client's own.
                    nursery.start_soon(
                        _connect_talk_leave, chat_server, f"room{batch}-{client % 7}"
                    )
            await wait_until(lambda: _occupancy() == before)
    assert _occupancy() == before == (0, 0, 0, 0)
    assert supervisor.statistics().enrolled == 0
    assert supervisor.statistics().failures == 0
