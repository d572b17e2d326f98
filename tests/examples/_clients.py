"""Clients of the chat example: log in over HTTP, talk over a WebSocket, read until.

Not here: the server processes (``_site``).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import trio
from e2e._clients import open_websocket
from trio_websocket import WebSocketConnection

__all__ = ["ChatClient", "log_in", "open_chat", "session_cookie"]

READ_TIMEOUT = 10.0
"""Seconds a client waits for the message it expects."""

_CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


async def log_in(url: str, username: str, password: str) -> str:
    """Log in through the site's login form; return the ``Cookie`` header of the session."""
    async with httpx.AsyncClient(base_url=url) as client:
        form = await client.get("/accounts/login/")
        token = _CSRF_FIELD.search(form.text)
        assert token is not None, form.text
        response = await client.post(
            "/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": token[1]},
        )
        assert response.status_code == 302, response.text
        return session_cookie(client.cookies)


def session_cookie(cookies: httpx.Cookies) -> str:
    """The ``Cookie`` header value carrying ``cookies``' session."""
    return f"sessionid={cookies['sessionid']}"


class ChatClient:
    """One WebSocket connection to a room, with the room's protocol on top."""

    def __init__(self, ws: WebSocketConnection) -> None:
        self.ws = ws

    async def post(self, text: str) -> None:
        """Send a message to the room."""
        await self.ws.send_message(json.dumps({"message": text}))

    async def next(self, kind: str) -> dict[str, Any]:
        """The next event of type ``kind``; events of other types are skipped."""
        with trio.fail_after(READ_TIMEOUT):
            while True:
                event: dict[str, Any] = json.loads(await self.ws.get_message())
                if event["type"] == kind:
                    return event

    async def presence_becomes(self, users: list[str]) -> None:
        """Read presence events until the list is ``users``."""
        seen: list[list[str]] = []
        with trio.fail_after(READ_TIMEOUT):
            while True:
                event = await self.next("presence")
                if event["users"] == users:
                    return
                seen.append(event["users"])
                if len(seen) > 20:
                    raise AssertionError(f"Presence never became {users}; saw {seen}.")


@asynccontextmanager
async def open_chat(
    url: str, room: str, *, cookie: str | None = None, origin: str | None = None
) -> AsyncIterator[ChatClient]:
    """A client in ``room`` of the site at ``url``, as a browser on that site connects.

    Args:
        url: ``http://127.0.0.1:PORT``.
        room: the room's name.
        cookie: a ``Cookie`` header (from :func:`log_in`); a guest without it.
        origin: the ``Origin`` header; the site's own by default.
    """
    headers = [(b"origin", (origin or url).encode())]
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    async with open_websocket(url, f"/ws/chat/{room}/", extra_headers=headers) as ws:
        yield ChatClient(ws)
