"""The Django bridge's errors: bad ``CALLBOARD`` settings; a thread re-entry that would deadlock.

Not here: the errors every part of callboard shares (``callboard.exceptions``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ImproperlyConfigured

from callboard.exceptions import CallboardError

__all__ = ["SettingsError", "ThreadReentryError"]


class SettingsError(CallboardError, ImproperlyConfigured, ValueError):  # type: ignore[misc]  # Django is untyped
    """The ``CALLBOARD`` setting is malformed: an unknown key or a bad value.

    It is Django's ``ImproperlyConfigured`` (what a Django team catches for
    bad settings) and a ``ValueError``.

    Attributes:
        key: the offending key (``"CALLBOARD"`` when the whole value is wrong).
        problem: what is wrong, in words.
    """

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"settings.CALLBOARD: {problem}")

    @classmethod
    def unknown(cls, key: str, valid: Iterable[str]) -> SettingsError:
        """Build the error for an unknown key, listing the valid ones."""
        listed = ", ".join(repr(name) for name in sorted(valid))
        return cls(key, f"unknown key {key!r}; valid keys are {listed}.")


class ThreadReentryError(CallboardError, RuntimeError):
    """A thread-sensitive call would have to run in a thread that is blocked waiting for it.

    Raised instead of deadlocking when synchronous code running in the
    thread-sensitive thread enters async code with ``from_thread.run`` (or a
    callboard method that hops to the event loop), and that async code makes
    a thread-sensitive ``sync_to_async`` call: the only thread allowed to run
    it is the one waiting.

    Attributes:
        function: the qualified name of the function that could not run.
    """

    def __init__(self, function: str) -> None:
        self.function = function
        super().__init__(
            f"sync_to_async({function}, thread_sensitive=True) would deadlock: it must run "
            "in the thread-sensitive thread, and that thread is blocked in from_thread.run() "
            "waiting for the async code that made this call. Enter async code from that "
            "thread with asgiref's async_to_sync() instead (the waiting thread then serves "
            "thread-sensitive calls), or make this call with thread_sensitive=False or "
            "callboard's database_sync_to_async()."
        )
