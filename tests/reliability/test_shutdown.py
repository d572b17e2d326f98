"""A restart hurts nobody: connections that arrive while the server drains are refused cleanly.

A handshake the server read just before its shutdown began reaches the
consumer after the server's supervisor stopped taking connections (an auth
middleware looking up the session in a thread is enough). The client gets
a refusal it can retry elsewhere — HTTP 403 for a WebSocket, 503 for HTTP —
and the log gets one INFO line, not an "Error in ASGI Framework" traceback.

Not here: the draining shutdown itself (``tests/e2e/test_processes.py``,
``tests/server/test_serve.py``).
"""

from __future__ import annotations

import logging

import httpx
import pytest
import trio
import trio.testing
from e2e._server import open_server

from callboard._asgi import ASGIApp, Receive, Scope, Send
from callboard.actors import ChildState, current_runtime

from ._rawws import Refused, open_raw_websocket
from .apps import application


def _held_at_the_door(app: ASGIApp, door: trio.Event) -> ASGIApp:
    """``app``, except that connections asking ``?late`` wait for ``door`` first."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan" and scope["query_string"] == b"late":
            await door.wait()
        await app(scope, receive, send)

    return middleware


async def test_a_websocket_and_a_request_arriving_during_shutdown_are_refused_without_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    door = trio.Event()
    answers: dict[str, int] = {}
    with trio.fail_after(10):
        async with open_server(_held_at_the_door(application, door), graceful_timeout=5) as server:
            port = int(server.url.rsplit(":", 1)[1])

            async def late_websocket() -> None:
                with pytest.raises(Refused) as refused:
                    async with open_raw_websocket("127.0.0.1", port, "/ws/room/late/?late"):
                        pass
                answers["websocket"] = refused.value.status

            async def late_request() -> None:
                async with httpx.AsyncClient() as client:
                    answers["http"] = (await client.get(f"{server.url}/stats/?late")).status_code

            async with (
                open_raw_websocket("127.0.0.1", port, "/ws/room/lobby/") as staying,
                trio.open_nursery() as nursery,
            ):
                nursery.start_soon(late_websocket)
                nursery.start_soon(late_request)
                await trio.testing.wait_all_tasks_blocked(cushion=0.1)
                supervisor = current_runtime().supervisor
                assert supervisor is not None
                server.shutdown()
                while supervisor.state is not ChildState.STOPPING:
                    await trio.sleep(0.001)  # the drain has begun; `staying` holds it open
                door.set()
                assert await staying.close_code() == 1001
    assert answers == {"websocket": 403, "http": 503}
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    refusals = [r.getMessage() for r in caplog.records if "refused a connection" in r.getMessage()]
    assert len(refusals) == 2
    assert not any(r.exc_info for r in caplog.records)
