"""MetricsApp: the Prometheus endpoint, a small ASGI application to mount in your routing.

Not here: the figures (``_view``) and their text (``_exposition``).
"""

from __future__ import annotations

import attrs

from callboard._asgi import Receive, Scope, Send

from ._exposition import CONTENT_TYPE, DEFAULT_MAX_GROUPS, render_metrics
from ._view import process_statistics

__all__ = ["MetricsApp"]


def _max_groups(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"MetricsApp.max_groups must be an int >= 0, got {value!r}.")


@attrs.frozen(kw_only=True)
class MetricsApp:
    """An ASGI application answering ``GET`` with the process's metrics for Prometheus.

    Mount it where the scraper (and nobody else) can reach it::

        application = ProtocolTypeRouter({
            "http": URLRouter([
                path("metrics", MetricsApp()),
                path("", django_asgi_app),
            ]),
            "websocket": ...,
        })

    Each request renders :func:`~callboard.metrics.process_statistics` of the
    event loop serving it, in the text format 0.0.4. It costs a pass over the
    live actors and mailboxes per scrape, nothing per message.

    Args:
        max_groups: how many of the largest groups get a ``callboard_group_members``
            series (bounds the series count on sites with a group per user).

    Raises:
        ValueError: a negative ``max_groups``.
    """

    max_groups: int = attrs.field(default=DEFAULT_MAX_GROUPS, validator=_max_groups)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request (``GET`` or ``HEAD``; anything else gets 405)."""
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind != "http":
            raise ValueError(f"MetricsApp serves HTTP, not {kind!r}: route it under 'http'.")
        method = scope.get("method", "GET")
        if method not in ("GET", "HEAD"):
            await _respond(send, 405, b"Method not allowed: use GET.\n", b"text/plain", allow=True)
            return
        body = render_metrics(process_statistics(), max_groups=self.max_groups).encode()
        await _respond(send, 200, b"" if method == "HEAD" else body, CONTENT_TYPE.encode())


async def _respond(
    send: Send, status: int, body: bytes, content_type: bytes, *, allow: bool = False
) -> None:
    headers = [(b"content-type", content_type), (b"cache-control", b"no-store")]
    if allow:
        headers.append((b"allow", b"GET, HEAD"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    """Answer lifespan events when the app is served on its own (a metrics-only port)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
