"""What each actor is waiting on, read from the running tasks' suspended frames.

Nothing is recorded while actors run: the actor loop stays as it is, and
the answer is worked out only when asked (a printed tree). Every running
task's coroutine chain is walked (``cr_await``) to the frame of
:meth:`Actor.serve <callboard.actors.Actor.serve>`; what that frame awaits
tells the state: its mailbox (idle), the handler of the message it is
dispatching, or a runtime signal.

Not here: printing the tree (``_tree``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from types import FrameType
from typing import Any

import anyio

from ._actor import Actor, handler_name

__all__ = ["waiting_on"]

_SERVE = Actor.serve.__code__


def _frames(coro: Any) -> Iterator[FrameType]:
    """Yield the frames of ``coro`` and of what it awaits, outermost first."""
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            yield frame
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)


def _current_frames() -> list[FrameType]:
    """Return the calling task's own frames, outermost first (its chain is not suspended)."""
    frames: list[FrameType] = []
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    frames.reverse()
    return frames


def _state(actor: Actor, inner: list[FrameType]) -> str:
    """Describe what ``actor``'s loop awaits, given the frames below its ``serve``."""
    for frame in reversed(inner):  # innermost first: a drain dispatches inside a signal
        name = frame.f_code.co_name
        owner = frame.f_locals.get("self")
        if owner is actor and name == "dispatch":
            message = frame.f_locals.get("message")
            try:
                return f"handler {handler_name(message['type'])}"  # type: ignore[index]
            except Exception:  # not a message with a valid type: say so plainly
                return "handler (unknown message)"
        if owner is actor and name == "handle_signal":
            return f"signal {type(frame.f_locals.get('signal')).__name__}"
        if name == "wait_nonempty" and owner is actor.mailbox:
            return "mailbox"
    return "running" if not inner else "scheduler"


def waiting_on(actors: Iterable[Actor]) -> dict[int, str]:
    """Return what each of ``actors`` waits on, by ``id(actor)``.

    ``"mailbox"`` (idle), ``"handler chat_message"`` (inside that handler),
    ``"signal ShutdownRequested"`` (handling a runtime signal), ``"scheduler"``
    (yielding between batches) or ``"running"`` (the calling task itself).
    An actor whose loop is not running is left out.

    Cost: one walk over every running task's awaited coroutines; call it to
    inspect, not per message.
    """
    wanted = {id(actor): actor for actor in actors}
    found: dict[int, str] = {}
    current = anyio.get_current_task()
    for task in anyio.get_running_tasks():
        frames = _current_frames() if task == current else list(_frames(task.coro))
        for position, frame in enumerate(frames):
            if frame.f_code is not _SERVE:
                continue
            actor = frame.f_locals.get("self")
            if id(actor) in wanted and wanted[id(actor)] is actor:
                assert isinstance(actor, Actor)
                found[id(actor)] = _state(actor, frames[position + 1 :])
    return found
