"""The ``GET /bench/stats`` answer every bench application shares: a tiny JSON responder.

Not here: the counters themselves (each application module collects its own).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["STATS_PATH", "respond_json"]

STATS_PATH = "/bench/stats"
"""Where the load generator asks a server for its delivery counters."""

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


async def respond_json(
    scope: MutableMapping[str, Any], receive: Receive, send: Send, payload: object
) -> None:
    """Answer an HTTP request with ``payload`` as JSON (404 for any path but the stats one)."""
    status = 200 if scope.get("path") == STATS_PATH else 404
    body = json.dumps(payload if status == 200 else {"error": "not found"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
