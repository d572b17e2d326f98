"""The bench protocol as a framework-free ASGI application: the ceiling for our stack.

No consumers, no layer, no copies: echo answers from the connection's own
task, and a room is a dict of its members' ``send`` callables. How a room
message reaches its members is chosen by ``BENCH_RAW_FANOUT``:

- ``direct`` (the default, any server): the publishing connection awaits every
  member's ``send`` in turn.
- ``queue`` (Trio only): each member has an unbounded Trio memory channel and a
  writer task; the publisher puts into every channel without waiting.

Both keep each member's messages in order and lose none; the suite uses
whichever is faster as the ceiling.

Not here: the framework versions (``callboard_app``, ``channels_app``).
"""

from __future__ import annotations

import math
import os
from collections.abc import MutableMapping
from typing import Any

from ._gc import apply_gc_knob, gc_statistics
from ._http import Receive, Send, respond_json

__all__ = ["application"]

FANOUT_MODE = os.environ.get("BENCH_RAW_FANOUT", "direct")
if FANOUT_MODE not in ("direct", "queue"):
    raise ValueError(f"BENCH_RAW_FANOUT must be 'direct' or 'queue', got {FANOUT_MODE!r}.")

_ECHO_PATH = "/ws/echo/"
_GROUP_PREFIX = "/ws/group/"

Scope = MutableMapping[str, Any]

_rooms: dict[str, dict[object, Any]] = {}
"""Room name to its members: a token per connection to its ``send`` (or channel)."""


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        event = await receive()
        if event["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif event["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _echo(receive: Receive, send: Send) -> None:
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        event = await receive()
        if event["type"] == "websocket.receive":
            if event.get("text") is not None:
                await send({"type": "websocket.send", "text": event["text"]})
            else:
                await send({"type": "websocket.send", "bytes": event.get("bytes")})
        elif event["type"] == "websocket.disconnect":
            return


async def _group_direct(room: str, receive: Receive, send: Send) -> None:
    await receive()  # websocket.connect
    members = _rooms.setdefault(room, {})
    token = object()
    members[token] = send
    try:
        await send({"type": "websocket.accept"})
        while True:
            event = await receive()
            if event["type"] == "websocket.receive":
                out = {"type": "websocket.send", "text": event.get("text")}
                for member_send in list(members.values()):
                    try:
                        await member_send(out)
                    except Exception:  # that member is closing; its own task cleans up
                        continue
            elif event["type"] == "websocket.disconnect":
                return
    finally:
        members.pop(token, None)
        if not members:
            _rooms.pop(room, None)


async def _group_queue(room: str, receive: Receive, send: Send) -> None:
    import trio

    await receive()  # websocket.connect
    members = _rooms.setdefault(room, {})
    token = object()
    inbox, outbox = trio.open_memory_channel[dict[str, Any]](math.inf)
    members[token] = inbox

    async def writer() -> None:
        async for message in outbox:
            await send(message)

    try:
        async with trio.open_nursery() as nursery:
            await send({"type": "websocket.accept"})
            nursery.start_soon(writer)
            while True:
                event = await receive()
                if event["type"] == "websocket.receive":
                    out = {"type": "websocket.send", "text": event.get("text")}
                    for member in list(members.values()):
                        member.send_nowait(out)
                elif event["type"] == "websocket.disconnect":
                    nursery.cancel_scope.cancel()
                    return
    finally:
        members.pop(token, None)
        if not members:
            _rooms.pop(room, None)


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    """The raw ASGI application: lifespan, ``/bench/stats``, echo and room fan-out."""
    kind = scope["type"]
    if kind == "websocket":
        route = scope["path"]
        if route == _ECHO_PATH:
            await _echo(receive, send)
        elif route.startswith(_GROUP_PREFIX) and route.endswith("/"):
            room = route[len(_GROUP_PREFIX) : -1]
            if FANOUT_MODE == "queue":
                await _group_queue(room, receive, send)
            else:
                await _group_direct(room, receive, send)
        else:
            await receive()
            await send({"type": "websocket.close"})
    elif kind == "http":
        await respond_json(scope, receive, send, {"framework": "raw", "gc": gc_statistics()})
    elif kind == "lifespan":
        await _lifespan(receive, send)


apply_gc_knob()
