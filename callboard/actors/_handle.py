"""ChildHandle: one supervised child across its restarts, and the task body of each start.

Each start (a "generation") runs in a cancel scope of its own. Stopping moves
that scope's deadline to the end of the grace and calls ``request_stop()``,
so a child that finishes in time ends cleanly and one that does not is
cancelled. A child's exception is caught here, logged once with its
traceback, and reported to the supervisor as the start's :class:`ChildExit`.

Not here: deciding what happens after a child ends (``_supervisor``).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable

import anyio
import attrs
from anyio.abc import TaskStatus

from ._actor import ActorStatistics
from ._child import Child, ChildSpec, ChildState, Stoppable
from ._stats import ChildStatistics, SupervisorStatistics

__all__ = ["ChildHandle"]

logger = logging.getLogger("callboard.supervisor")


def send_stop(target: Stoppable, scope: anyio.CancelScope, what: str) -> None:
    """Call ``target.request_stop()``; if that raises, log it and cancel ``scope`` at once."""
    try:
        target.request_stop()
    except Exception:
        logger.exception("%s raised in request_stop(); cancelling it instead.", what)
        scope.cancel()


@attrs.frozen(kw_only=True)
class ChildExit:
    """One start of a child ended: ``failure`` is what it raised, ``None`` if it returned."""

    handle: ChildHandle
    generation: int
    failure: Exception | None


@attrs.define(eq=False)
class _Relay:
    """The ``task_status`` a child sees; its ``started()`` reports to the supervisor."""

    _on_started: Callable[[], None]

    def started(self, value: object = None) -> None:
        self._on_started()


def _takes_task_status(child: Child) -> bool:
    try:
        return "task_status" in inspect.signature(child.run).parameters
    except (TypeError, ValueError):  # no signature to inspect
        return False


@attrs.define(eq=False, repr=False)
class ChildHandle:
    """One supervised child, across its restarts; :meth:`Supervisor.start_child` returns it.

    Lifetime: valid as long as you hold it. Once the child has ended for good
    its state is ``STOPPED`` and its supervisor has forgotten it.
    """

    _spec: ChildSpec
    _owner: str  # the supervisor's name, for logs
    _grace: float  # the supervisor's default grace, seconds
    _state: ChildState = attrs.field(default=ChildState.STARTING, init=False)
    _restarts: int = attrs.field(default=0, init=False)
    _child: Child | None = attrs.field(default=None, init=False)
    _active: bool = attrs.field(default=True, init=False)  # still one of the supervisor's
    _stop_requested: bool = attrs.field(default=False, init=False)  # never restart it
    _ended: anyio.Event = attrs.field(factory=anyio.Event, init=False)
    # the current generation:
    _generation: int = attrs.field(default=0, init=False)
    _alive: bool = attrs.field(default=False, init=False)
    _stop_sent: bool = attrs.field(default=False, init=False)
    _scope: anyio.CancelScope = attrs.field(factory=anyio.CancelScope, init=False)
    _task_done: anyio.Event = attrs.field(factory=anyio.Event, init=False)

    @property
    def name(self) -> str:
        """The spec's name."""
        return self._spec.name

    @property
    def spec(self) -> ChildSpec:
        """How the child is started."""
        return self._spec

    @property
    def state(self) -> ChildState:
        """Where the child is now."""
        return self._state

    @property
    def restarts(self) -> int:
        """How many times it was started again."""
        return self._restarts

    @property
    def child(self) -> Child | None:
        """The current child object (a new one after each restart), ``None`` before it exists.

        A coroutine worker appears as the :class:`~callboard.actors.TaskChild` running it.
        """
        return self._child

    def request_stop(self) -> None:
        """Stop this child gracefully (within its grace) and never restart it.

        Never blocks; idempotent.
        """
        self._stop(self._grace_deadline(anyio.current_time()), final=True)

    async def wait_stopped(self) -> None:
        """Wait until the child has ended for good and its supervisor has forgotten it."""
        await self._ended.wait()

    def statistics(self) -> ChildStatistics:
        """Return a snapshot of this child (and of the actor or supervisor it is)."""
        get = getattr(self._child, "statistics", None)
        snapshot = get() if callable(get) else None
        return ChildStatistics(
            name=self.name,
            state=self._state,
            restart=self._spec.restart,
            restarts=self._restarts,
            actor=snapshot if isinstance(snapshot, ActorStatistics) else None,
            supervisor=snapshot if isinstance(snapshot, SupervisorStatistics) else None,
        )

    def __repr__(self) -> str:
        return f"<ChildHandle {self.name!r} {self._state.value} restarts={self._restarts}>"

    # -- for the supervisor --------------------------------------------------------

    def _grace_deadline(self, now: float) -> float:
        timeout = self._spec.shutdown_timeout
        return now + (self._grace if timeout is None else timeout)

    def _begin(self) -> None:
        """Prepare a new generation: a fresh scope, nothing built yet."""
        self._generation += 1
        self._alive, self._stop_sent, self._child = True, False, None
        self._scope, self._task_done = anyio.CancelScope(), anyio.Event()
        self._state = ChildState.STARTING

    def _stop(self, deadline: float, *, final: bool) -> None:
        """Ask the current generation to stop by ``deadline``; ``final``: never restart."""
        if not self._active:
            return
        if final:
            self._stop_requested = True
        if not self._alive:
            return
        self._stop_sent, self._state = True, ChildState.STOPPING
        self._scope.deadline = min(self._scope.deadline, deadline)
        if self._child is not None:
            send_stop(self._child, self._scope, f"Child {self.name!r}")

    def _forget(self) -> None:
        self._active, self._state = False, ChildState.STOPPED
        self._ended.set()

    async def _run(self, *, initial: bool, task_status: TaskStatus[None]) -> ChildExit:
        """Run the current generation; report ``started`` once it is running.

        Raises:
            Exception: only when ``initial`` and the child failed before it was
                running (``start_child``'s caller gets it).
        """
        generation, scope, done = self._generation, self._scope, self._task_done
        reported = False

        def report() -> None:
            nonlocal reported
            if reported:
                return
            reported = True
            if self._alive and self._state is ChildState.STARTING:
                self._state = ChildState.RUNNING
            task_status.started()
            if self._alive and self._stop_sent and self._child is not None:
                send_stop(self._child, scope, f"Child {self.name!r}")  # now it can hear it

        failure: Exception | None = None
        try:
            with scope:
                if not self._stop_sent:  # stopped before it existed: never run it
                    child = self._child = self._spec.build()
                    if _takes_task_status(child):
                        run: Callable[..., Awaitable[None]] = child.run
                        await run(task_status=_Relay(report))
                    else:
                        report()
                        await child.run()
        except Exception as exc:
            if initial and not reported:
                raise
            failure = exc
        finally:
            self._alive = False
            done.set()
        if failure is not None:
            logger.error(
                "Child %r (%s) of supervisor %r failed.",
                self.name,
                self._spec.restart.value,
                self._owner,
                exc_info=failure,
            )
        elif scope.cancelled_caught and self._stop_sent:
            logger.warning(
                "Child %r of supervisor %r did not stop within its grace; cancelled.",
                self.name,
                self._owner,
            )
        report()
        return ChildExit(handle=self, generation=generation, failure=failure)
