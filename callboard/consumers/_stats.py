"""Connection statistics: what consumers count per event loop, only when a connection changes.

Counted on connect, accept, close, disconnect, crash and a rate limit's
refusal: never per message. The counters live with the loop's runtime, so
each test (each ``trio.run``) starts from zero.

Not here: mailbox and actor figures (``callboard.actors``), exporting them
(``callboard.metrics``).
"""

from __future__ import annotations

import attrs

from callboard.actors import Runtime, current_runtime

__all__ = ["ConnectionCounters", "ConnectionStatistics", "connection_statistics"]

_KEY = "callboard.consumers.connections"


@attrs.frozen(kw_only=True)
class ConnectionStatistics:
    """A snapshot of the connections consumers served in this event loop.

    Attributes:
        websocket_connects: WebSocket handshakes that reached a consumer.
        websocket_accepted: handshakes a consumer accepted.
        websocket_refused: handshakes a consumer refused (closed before accepting: HTTP 403).
        websocket_open: accepted connections whose client has not gone yet.
        websocket_closes: close frames consumers sent after accepting, by close code.
        websocket_disconnects: WebSocket connections that ended, by the code the
            server reported (1000 after a completed closing handshake, 1006 when
            the client vanished, the client's own code when it closed first).
        crashes: connections a handler's exception ended (WebSocket 1011, HTTP 500).
        rate_limited: inbound messages refused by a consumer class's rate
            limit, by class (dropped, or arriving while the connection closes).
        shutdown_closes: connections consumers closed because the server was shutting down.
        shutdown_acknowledged: of those, the ones whose client completed the
            closing handshake (the disconnect arrived: 1001 acknowledged).
        sent_after_close: events consumers sent after their connection had
            closed (the client gone, or a close sent), dropped unwritten: what a
            consumer closed for overflowing still had queued ends up here.
    """

    websocket_connects: int
    websocket_accepted: int
    websocket_refused: int
    websocket_open: int
    websocket_closes: dict[int, int]
    websocket_disconnects: dict[int, int]
    crashes: int
    rate_limited: dict[str, int]
    shutdown_closes: int
    shutdown_acknowledged: int
    sent_after_close: int = 0


@attrs.define(eq=False)
class ConnectionCounters:
    """The mutable counters behind :class:`ConnectionStatistics` (one per event loop)."""

    websocket_connects: int = 0
    websocket_accepted: int = 0
    websocket_refused: int = 0
    websocket_ended_after_accept: int = 0
    websocket_closes: dict[int, int] = attrs.field(factory=dict)
    websocket_disconnects: dict[int, int] = attrs.field(factory=dict)
    crashes: int = 0
    rate_limited: dict[str, int] = attrs.field(factory=dict)
    shutdown_closes: int = 0
    shutdown_acknowledged: int = 0
    sent_after_close: int = 0

    def snapshot(self) -> ConnectionStatistics:
        """Freeze the counters."""
        return ConnectionStatistics(
            websocket_connects=self.websocket_connects,
            websocket_accepted=self.websocket_accepted,
            websocket_refused=self.websocket_refused,
            websocket_open=self.websocket_accepted - self.websocket_ended_after_accept,
            websocket_closes=dict(self.websocket_closes),
            websocket_disconnects=dict(self.websocket_disconnects),
            crashes=self.crashes,
            rate_limited=dict(self.rate_limited),
            shutdown_closes=self.shutdown_closes,
            shutdown_acknowledged=self.shutdown_acknowledged,
            sent_after_close=self.sent_after_close,
        )


def connection_counters(runtime: Runtime | None = None) -> ConnectionCounters:
    """Return the event loop's counters, creating them on first use."""
    runtime = runtime if runtime is not None else current_runtime()
    counters: ConnectionCounters | None = runtime.extras.get(_KEY)
    if counters is None:
        counters = runtime.extras[_KEY] = ConnectionCounters()
    return counters


def connection_statistics() -> ConnectionStatistics:
    """Return a snapshot of the connections consumers served in the running event loop.

    Raises:
        RuntimeError: no event loop is running.
    """
    return connection_counters().snapshot()
