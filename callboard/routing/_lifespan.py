"""Answering the ASGI lifespan protocol, running startup and shutdown hooks.

Used by :class:`~callboard.routing.ProtocolTypeRouter` when its mapping has
no ``"lifespan"`` entry, so servers that speak lifespan (hypercorn, uvicorn)
get a proper answer instead of an exception at every start.

Not here: which scope goes where (``_protocol``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeAlias

from callboard._asgi import Receive, Send
from callboard.actors import set_primary_home, tune_gc

__all__ = ["LifespanHook", "run_lifespan"]

logger = logging.getLogger("callboard.routing")

LifespanHook: TypeAlias = Callable[[], Awaitable[None]]
"""A startup or shutdown hook: an async callable taking no arguments."""


async def run_lifespan(
    receive: Receive,
    send: Send,
    *,
    on_startup: Sequence[LifespanHook],
    on_shutdown: Sequence[LifespanHook],
) -> None:
    """Serve one lifespan scope: run the hooks when the server says so, and report.

    On ``lifespan.startup`` the serving event loop becomes the process's
    primary home (so plain threads reach the channel layer, see
    :func:`callboard.actors.set_primary_home`) and young objects are
    collected less often (:func:`callboard.actors.tune_gc`); then the
    startup hooks run in order; the first that raises stops the rest and the
    server gets ``lifespan.startup.failed`` with a message naming the hook and
    its error (the traceback is logged).
    On ``lifespan.shutdown`` every shutdown hook runs, even after one failed,
    and the server gets ``lifespan.shutdown.complete`` or
    ``lifespan.shutdown.failed``. Other events are ignored.

    Args:
        receive: the lifespan scope's ``receive``.
        send: the lifespan scope's ``send``.
        on_startup: hooks to await at startup, in order.
        on_shutdown: hooks to await at shutdown, in order.

    Returns:
        After the shutdown is reported, or right after a failed startup
        (the server stops then, and sends no shutdown).

    Cancellation:
        Propagates from a hook or from ``receive``; only ``Exception`` from a
        hook is turned into a ``*.failed`` report.
    """
    while True:
        event = await receive()
        if event["type"] == "lifespan.startup":
            set_primary_home()
            tune_gc()
            failures = await _run_hooks("startup", on_startup, stop_at_first=True)
            if failures:
                await send({"type": "lifespan.startup.failed", "message": failures[0]})
                return
            await send({"type": "lifespan.startup.complete"})
        elif event["type"] == "lifespan.shutdown":
            failures = await _run_hooks("shutdown", on_shutdown, stop_at_first=False)
            if failures:
                await send({"type": "lifespan.shutdown.failed", "message": "; ".join(failures)})
            else:
                await send({"type": "lifespan.shutdown.complete"})
            return


async def _run_hooks(
    phase: str, hooks: Sequence[LifespanHook], *, stop_at_first: bool
) -> list[str]:
    """Await each hook; return one message per hook that raised."""
    failures: list[str] = []
    for hook in hooks:
        name = getattr(hook, "__qualname__", None) or repr(hook)
        try:
            await hook()
        except Exception as exc:
            logger.exception("Lifespan %s hook %s failed", phase, name)
            failures.append(f"{phase} hook {name} raised {type(exc).__name__}: {exc}")
            if stop_at_first:
                break
    return failures
