"""ApplicationCommunicator: run one ASGI application under test and talk to it.

The application runs in a task, fed from an input queue (``send_input``)
and writing to an output queue (``receive_output``), with Channels' method
names and semantics. Three ways to own that task, the first two preferred:

1. ``async with ApplicationCommunicator(app, scope) as comm:`` — the
   communicator opens its own task group; leaving the block finishes the
   conversation politely (a WebSocket is disconnected), then cancels the
   application if it is still running and waits for it.
2. ``await comm.start(nursery)`` — the caller's nursery (pytest-trio's
   ``nursery`` fixture) owns the task; ``await comm.aclose()`` or
   cancelling the nursery stops it.
3. The Channels style, neither of the above: the first call starts the
   application in a task owned by the event loop (see
   :func:`_start_compatibility_task`, the one place this package starts a
   task without a nursery). ``disconnect()``, ``wait()`` and ``aclose()``
   join it; the end of the test's event loop cancels whatever is left.

Errors surface, never a timeout in their place:

- An exception the application raises is kept and re-raised, with its own
  traceback, by the next communicator call (``send_input``,
  ``receive_output``, ``connect``, ``wait`` ...), and by every call after
  it, as Channels does. A call already waiting wakes up to raise it.
- **The report hook.** A callboard consumer that crashes does not raise:
  it logs, closes its connection (WebSocket 1011, HTTP 500) and ends. So
  that a test still sees the error, every communicator puts a hook into the
  scope it runs the application with::

      scope["extensions"]["callboard.test"] = {"report_exception": report}

  ``report(exc)`` takes the exception, returns ``None`` and never raises;
  call it from the event-loop thread, before closing the connection. The
  next communicator call (one already waiting included) re-raises ``exc``
  with its own traceback, once; later calls carry on and see what the
  application sent (the 1011 close). Reports are raised in the order made.
- An error nobody has seen yet is raised when the ``async with`` block is
  left (or by ``aclose()``); if the block itself is failing, its exception
  wins and gets a note naming the application's.

Timeouts are cancel scopes on the event loop's clock (Trio's ``MockClock``
included) and raise the builtin ``TimeoutError``, as asgiref's do. As in
asgiref, a ``receive_output`` that times out cancels the application.

Not here: the WebSocket and HTTP shortcuts (``_websocket``, ``_http``).
"""

# Channels' API takes `timeout` arguments; they become cancel scopes inside.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import anyio
import anyio.lowlevel
import sniffio

from callboard._asgi import ASGIApp, Message, Scope

if TYPE_CHECKING:
    import trio
    from anyio.abc import TaskGroup, TaskStatus

__all__ = ["TEST_EXTENSION", "ApplicationCommunicator"]

TEST_EXTENSION = "callboard.test"
"""The key under ``scope["extensions"]`` that holds the report hook."""


class _Wakeup:
    """Wakes every task waiting on it; a waiter checks its condition first."""

    def __init__(self) -> None:
        self._event: anyio.Event | None = None

    def notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self) -> None:
        if self._event is None:
            self._event = anyio.Event()
        await self._event.wait()


class ApplicationCommunicator:
    """Runs one ASGI application under test; sends it events and reads what it sends.

    Args:
        application: the ASGI 3 application (a consumer's ``as_asgi()``, a router).
        scope: its connection scope. The communicator runs the application with
            a shallow copy that also carries the report hook (see the module
            docstring); ``comm.scope`` is that copy and may be changed until
            the application starts.

    Lifetime:
        ``async with`` (preferred), ``await start(nursery)``, or neither: the
        first call then starts the application itself (Channels' style).
    """

    def __init__(self, application: ASGIApp, scope: Scope) -> None:
        self.application = application
        extensions = dict(scope.get("extensions") or {})
        extensions[TEST_EXTENSION] = {"report_exception": self._report_exception}
        self.scope: Scope = {**scope, "extensions": extensions}
        self._input: deque[Message] = deque()
        self._output: deque[Message] = deque()
        self._to_app = _Wakeup()
        self._to_test = _Wakeup()
        self._started = False
        self._finished = False
        self._cancel_requested = False
        self._app_scope: anyio.CancelScope | None = None
        self._app_error: Exception | None = None
        self._app_error_tb: TracebackType | None = None
        self._app_error_seen = False
        self._reported: deque[tuple[BaseException, TracebackType | None]] = deque()
        self._exit_stack: AsyncExitStack | None = None
        self._compat_task: asyncio.Task[None] | None = None

    # -- owning the application's task ---------------------------------------------------

    async def __aenter__(self) -> Self:
        self._claim("async with")
        stack = AsyncExitStack()
        task_group = await stack.enter_async_context(anyio.create_task_group())
        try:
            await task_group.start(self._run)
        except BaseException:
            await stack.aclose()
            raise
        self._exit_stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack = self._exit_stack
        assert stack is not None, "__aexit__ without __aenter__"
        self._exit_stack = None
        try:
            if exc is None:
                await self._close_politely()
        finally:
            self._cancel()
            await stack.aclose()
        if exc is None:
            self._raise_unseen()
        elif isinstance(exc, Exception):
            self._note_unseen(exc)

    async def start(self, nursery: trio.Nursery | TaskGroup) -> None:
        """Start the application in *nursery* (pytest-trio's ``nursery`` fixture, say).

        Args:
            nursery: a Trio nursery or an AnyIO task group; it owns the task.

        Raises:
            RuntimeError: the application was already started.

        Lifetime:
            The task lasts until the application returns or the nursery is
            cancelled (pytest-trio cancels its ``nursery`` fixture when the
            test ends); ``await aclose()`` ends it at once, ``disconnect()``
            and ``wait()`` wait for it to end.
        """
        self._claim("start()")
        await nursery.start(self._run)

    async def aclose(self) -> None:
        """Finish the conversation politely, stop the application and wait for it.

        A WebSocket that was connected is disconnected (code 1000) first.

        Raises:
            Exception: an error of the application's not raised by a call yet.
            TimeoutError: the application did not stop after a WebSocket disconnect.
        """
        if not self._started:
            return
        try:
            await self._close_politely()
        finally:
            await self._cancel_and_join()
        self._raise_unseen()

    def stop(self, exceptions: bool = True) -> None:
        """Cancel the application without waiting for it (asgiref's synchronous ``stop``).

        Args:
            exceptions: if the application has already finished, re-raise its error.

        Use ``await wait()`` or ``await aclose()`` to also wait for it to end.
        """
        if not self._started:
            return
        if not self._finished:
            self._cancel()
        elif exceptions:
            self._raise_pending()

    # -- Channels' API -------------------------------------------------------------------

    async def send_input(self, message: Message) -> None:
        """Send one event to the application.

        Raises:
            Exception: the application's error, if it has failed.
        """
        self._ensure_started()
        self._raise_pending()
        self._input.append(message)
        self._to_app.notify()
        await anyio.lowlevel.checkpoint()

    async def receive_output(self, timeout: float = 1) -> Message:
        """Receive the next event the application sent, waiting up to *timeout* seconds.

        Returns:
            The event, as the application sent it.

        Raises:
            Exception: the application's error, as soon as it happens.
            TimeoutError: nothing came in time (the application is then
                cancelled, as in asgiref), or the application has finished and
                sent nothing more.
        """
        self._ensure_started()
        await anyio.lowlevel.checkpoint()
        self._raise_pending()
        with anyio.move_on_after(timeout):
            while not (self._output or self._finished or self._reported):
                await self._to_test.wait()
        self._raise_pending()
        if self._output:
            return self._output.popleft()
        if self._finished:
            raise TimeoutError("The application has finished; it will send nothing more.")
        await self._cancel_and_join()
        self._raise_pending()
        raise TimeoutError(
            f"The application sent nothing within {timeout} s; it has been cancelled."
        )

    async def receive_nothing(self, timeout: float = 0.1, interval: float = 0.01) -> bool:
        """Check that the application sends nothing within *timeout* seconds.

        Args:
            timeout: how long to watch.
            interval: accepted for Channels compatibility and unused: the
                communicator is woken by the event itself, not by polling.

        Returns:
            ``True`` if nothing was sent (an event already waiting counts);
            ``False`` as soon as something is. The event stays queued.

        Raises:
            Exception: the application's error, as soon as it happens.
        """
        del interval
        self._ensure_started()
        await anyio.lowlevel.checkpoint()
        self._raise_pending()
        with anyio.move_on_after(timeout):
            while not (self._output or self._finished or self._reported):
                await self._to_test.wait()
        self._raise_pending()
        return not self._output

    async def wait(self, timeout: float = 1) -> None:
        """Wait up to *timeout* seconds for the application to finish.

        Raises:
            Exception: the application's error (or a reported one).
            TimeoutError: it did not finish in time; it has been cancelled.
        """
        self._ensure_started()
        await anyio.lowlevel.checkpoint()
        with anyio.move_on_after(timeout):
            while not self._finished:
                await self._to_test.wait()
        timed_out = not self._finished
        if timed_out:
            await self._cancel_and_join()
        self._raise_pending()
        if timed_out:
            raise TimeoutError(
                f"The application did not finish within {timeout} s; it has been cancelled."
            )

    # -- internals -----------------------------------------------------------------------

    def _claim(self, how: str) -> None:
        if self._started:
            raise RuntimeError(
                f"Cannot {how}: this communicator's application has already been started. "
                "Use one communicator per connection."
            )
        self._started = True

    def _ensure_started(self) -> None:
        if not self._started:
            self._started = True
            self._compat_task = _start_compatibility_task(self._run)

    async def _run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        try:
            # The scope absorbs the cancellation the communicator asked for (and
            # strips it from a group); what else the application raised is kept.
            with anyio.CancelScope() as scope:
                self._app_scope = scope
                if self._cancel_requested:
                    scope.cancel()
                task_status.started()
                await self.application(self.scope, self._receive, self._send)
        except Exception as exc:
            self._app_error = exc
            self._app_error_tb = exc.__traceback__
        finally:
            self._finished = True
            self._to_test.notify()

    async def _receive(self) -> Message:
        await anyio.lowlevel.checkpoint()
        while not self._input:
            await self._to_app.wait()
        return self._input.popleft()

    async def _send(self, message: Message) -> None:
        await anyio.lowlevel.checkpoint()
        if not isinstance(message.get("type"), str):
            raise TypeError(f"An ASGI event needs a 'type' key holding a str; got {message!r}.")
        self._output.append(message)
        self._to_test.notify()

    def _report_exception(self, exc: BaseException) -> None:
        self._reported.append((exc, exc.__traceback__))
        self._to_test.notify()

    def _cancel(self) -> None:
        self._cancel_requested = True
        if self._app_scope is not None:
            self._app_scope.cancel()

    async def _cancel_and_join(self) -> None:
        self._cancel()
        while not self._finished:
            await self._to_test.wait()

    async def _close_politely(self) -> None:
        """End the conversation the way a server would; subclasses override."""

    def _raise_pending(self) -> None:
        __tracebackhide__ = True  # pytest shows the application's frames, not this one
        if self._reported:
            exc, tb = self._reported.popleft()
            raise exc.with_traceback(tb)
        if self._app_error is not None:
            self._app_error_seen = True
            raise self._app_error.with_traceback(self._app_error_tb)

    def _raise_unseen(self) -> None:
        if self._reported or (self._app_error is not None and not self._app_error_seen):
            self._raise_pending()

    def _note_unseen(self, exc: Exception) -> None:
        unseen = [reported for reported, _ in self._reported]
        if self._app_error is not None and not self._app_error_seen:
            unseen.append(self._app_error)
        for error in unseen:
            exc.add_note(f"The application under test had also failed: {error!r}")


def _start_compatibility_task(
    async_fn: Callable[[], Coroutine[Any, Any, None]],
) -> asyncio.Task[None] | None:
    """Start *async_fn* in a task owned by the event loop: the Channels-style path.

    The one place callboard starts a task that no nursery owns, so that a
    Channels test that never enters ``async with`` still runs. *async_fn*
    must never raise. On Trio it is a system task (the run cancels it when
    the test's main task ends); on asyncio a task the communicator keeps
    (the loop's shutdown cancels it). Both start with empty context
    variables, as Channels' do.

    Returns:
        The asyncio task to keep a reference to, or ``None`` on Trio.
    """
    library = sniffio.current_async_library()
    if library == "trio":
        import trio.lowlevel

        trio.lowlevel.spawn_system_task(async_fn, name="callboard.testing application")
        return None
    if library == "asyncio":
        loop = asyncio.get_running_loop()
        return loop.create_task(async_fn(), context=contextvars.Context())
    raise RuntimeError(f"callboard.testing runs on Trio or asyncio, not {library!r}.")
