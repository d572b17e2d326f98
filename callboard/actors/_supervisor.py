"""Supervisor: runs children in its task group, restarts them by strategy, stops them gracefully.

Erlang's model on AnyIO. A child's exception is caught in its own task,
logged once with its traceback (logger ``callboard.supervisor``) and handed to
the control loop, which restarts by strategy and restart type. More than
``max_restarts`` restarts within ``period`` seconds and the supervisor gives
up: it stops its other children and raises
:class:`~callboard.exceptions.RestartIntensityError` from the last failure, so
the failure escalates to its owner (a parent supervisor sees a child failing).

Actors that run in someone else's task (a server's connection task) are
*enrolled* rather than started: on shutdown they get ``request_stop()`` too,
and the block they run in is cancelled when the grace runs out.

Not here: child specs (``_child``), one child's life (``_handle``), restart
policy (``_restart``).
"""

from __future__ import annotations

import functools
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from contextlib import AbstractContextManager, asynccontextmanager
from typing import Any, Protocol

import anyio
import attrs
from anyio.abc import TaskGroup, TaskStatus

from callboard.exceptions import RestartIntensityError

from ._child import ChildSpec, ChildState, RestartType, Stoppable, check_timeout
from ._enroll import Enrollments
from ._handle import ChildExit, ChildHandle
from ._restart import RestartWindow, SupervisorConfig, restart_targets
from ._stats import SupervisorStatistics
from ._tree import render_tree

__all__ = ["Supervisor", "open_supervisor", "start_supervisor", "supervisor_spec"]

logger = logging.getLogger("callboard.supervisor")


def _reraise_sole(group: BaseExceptionGroup[BaseException]) -> None:
    """Raise the group's only exception bare, if it holds exactly one ``Exception``."""
    if len(group.exceptions) != 1 or not isinstance(group.exceptions[0], Exception):
        return
    error = group.exceptions[0]
    context, suppress = error.__context__, error.__suppress_context__
    try:
        raise error
    finally:  # keep its own chain, not "during handling of the group"
        error.__context__, error.__suppress_context__ = context, suppress


class _Nursery(Protocol):
    """What :func:`start_supervisor` needs: a Trio nursery or an AnyIO task group."""

    async def start(
        self, func: Callable[..., Coroutine[Any, Any, None]], /, *args: object, name: object = None
    ) -> Any: ...


def _to_specs(children: Iterable[ChildSpec]) -> tuple[ChildSpec, ...]:
    return tuple(children)


@attrs.define(eq=False, kw_only=True)
class Supervisor:
    """Starts children in its task group, restarts them by strategy, stops them gracefully.

    Get one from :func:`open_supervisor` or :func:`start_supervisor`, or nest
    one under another with :func:`supervisor_spec`: a supervisor is itself a
    child (:meth:`run`, :meth:`request_stop`).

    Args:
        name: for logs, errors, statistics and the tree.
        children: started in order before the supervisor reports it is running.
        config: strategy, restart intensity and default grace.
    """

    _name: str = "supervisor"
    _children: tuple[ChildSpec, ...] = attrs.field(default=(), converter=_to_specs)
    _config: SupervisorConfig = attrs.field(factory=SupervisorConfig)
    _state: ChildState = attrs.field(default=ChildState.STARTING, init=False)
    _ran: bool = attrs.field(default=False, init=False)
    _stopping: bool = attrs.field(default=False, init=False)
    _task_group: TaskGroup | None = attrs.field(default=None, init=False)
    _handles: list[ChildHandle] = attrs.field(factory=list, init=False)
    _enrolled: Enrollments = attrs.field(init=False)
    _exits: deque[ChildExit] = attrs.field(factory=deque, init=False)
    _wakeup: anyio.Event | None = attrs.field(default=None, init=False)
    _stopped: anyio.Event | None = attrs.field(default=None, init=False)
    _window: RestartWindow = attrs.field(init=False)
    _restarts: int = attrs.field(default=0, init=False)
    _failures: int = attrs.field(default=0, init=False)
    _escalation: RestartIntensityError | None = attrs.field(default=None, init=False)
    _no_enrolled: anyio.Event | None = attrs.field(default=None, init=False)

    @_enrolled.default
    def _make_enrollments(self) -> Enrollments:
        return Enrollments(self._name, self._notify)

    @_window.default
    def _make_window(self) -> RestartWindow:
        return RestartWindow(self._config.max_restarts, self._config.period)

    @property
    def name(self) -> str:
        """The supervisor's name."""
        return self._name

    @property
    def config(self) -> SupervisorConfig:
        """Its strategy, restart intensity and default grace."""
        return self._config

    @property
    def state(self) -> ChildState:
        """``STARTING``, ``RUNNING``, ``STOPPING`` or ``STOPPED``."""
        return self._state

    # -- running and stopping --------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[Supervisor] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start the initial children, supervise until stopped, then end.

        Follows the ``nursery.start`` protocol: ``task_status.started(self)``
        once every initial child is running.

        Raises:
            RestartIntensityError: it gave up; ``__cause__`` is the last child failure.
            ValueError: two initial children share a name.
            RuntimeError: it has already run.
            Exception: whatever an initial child raised before it was running.

        Cancellation: cancelling it cancels every child at once, without grace.
        """
        if self._ran:
            raise RuntimeError(f"Supervisor {self._name!r} has already run; make a new one.")
        self._ran = True
        try:
            try:
                async with anyio.create_task_group() as task_group:
                    self._task_group = task_group
                    for spec in self._children:
                        if not self._stopping:
                            await self._start_new(spec)
                    if not self._stopping:
                        self._state = ChildState.RUNNING
                    task_status.started(self)
                    await self._supervise()
            except BaseExceptionGroup as group:
                _reraise_sole(group)
                raise
        finally:
            self._task_group, self._stopping, self._state = None, True, ChildState.STOPPED
            if self._stopped is not None:
                self._stopped.set()
        if self._escalation is not None:
            raise self._escalation from self._escalation.__cause__

    def request_stop(self) -> None:
        """Begin a graceful shutdown with the configured grace (see :meth:`shutdown`).

        Never blocks. Once the supervisor is stopping it changes nothing (an
        explicit :meth:`shutdown` grace stays in force).
        """
        if not self._stopping:
            self._begin_stop(self._config.shutdown_timeout)

    async def shutdown(self, grace: float | None = None) -> None:
        """Stop gracefully and wait until every child and enrolled actor has ended.

        From now on new children and enrolments are refused. Every enrolled
        actor, then every child, newest first, gets ``request_stop()``; what is
        still running after ``grace`` seconds (or after a child's shorter
        ``shutdown_timeout``) is cancelled. A second call can only shorten the grace.

        Args:
            grace: seconds to let them finish; ``config.shutdown_timeout`` by default.

        Raises:
            ValueError: ``grace`` is negative.

        It does not raise the supervisor's own failure: its owner gets that.

        Cancellation: cancelling the wait does not undo the shutdown: the
        deadlines stay set and the supervisor still ends. A child must not
        await this on its own supervisor (it would wait for itself); it calls
        :meth:`request_stop` instead.
        """
        check_timeout(self, attrs.fields(SupervisorConfig).shutdown_timeout, grace)
        self._begin_stop(self._config.shutdown_timeout if grace is None else grace)
        if not self._ran or self._state is ChildState.STOPPED:
            return
        if self._stopped is None:
            self._stopped = anyio.Event()
        await self._stopped.wait()

    def _begin_stop(self, grace: float) -> None:
        if self._state is ChildState.STOPPED:
            return
        self._stopping, self._state = True, ChildState.STOPPING
        now = anyio.current_time()
        self._enrolled.stop_all(now + grace)
        for handle in reversed(self._handles):
            timeout = handle.spec.shutdown_timeout
            handle._stop(now + (grace if timeout is None else min(grace, timeout)), final=True)
        self._notify()

    # -- children --------------------------------------------------------------------

    async def start_child(self, spec: ChildSpec) -> ChildHandle:
        """Start a child and return once it is running.

        Args:
            spec: what to start; its name must differ from every current child's.

        Returns:
            The child's handle. If a shutdown began while it was starting, the
            child is stopped with the others and the handle says so.

        Raises:
            RuntimeError: the supervisor is not running (not yet, or stopping).
            ValueError: a current child already has that name.
            Exception: whatever the child raised before it was running; it is
                not restarted (the error is yours).

        Cancellation: if cancelled while the child starts, the child is
        cancelled and forgotten.
        """
        if self._task_group is None or self._stopping:
            raise RuntimeError(
                f"Supervisor {self._name!r} is {self._state.value}; it accepts no new children."
            )
        return await self._start_new(spec)

    async def _start_new(self, spec: ChildSpec) -> ChildHandle:
        if any(handle.name == spec.name for handle in self._handles):
            raise ValueError(
                f"Supervisor {self._name!r} already has a child named {spec.name!r}; "
                "names must be unique among its current children."
            )
        handle = ChildHandle(spec, self._name, self._config.shutdown_timeout)
        self._handles.append(handle)
        try:
            await self._start(handle, initial=True)
        except BaseException:
            self._forget(handle)
            raise
        return handle

    async def _start(self, handle: ChildHandle, *, initial: bool) -> None:
        assert self._task_group is not None, "children start only while the supervisor runs"
        handle._begin()
        await self._task_group.start(self._child_task, handle, initial)

    async def _child_task(
        self,
        handle: ChildHandle,
        initial: bool,
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        exit = await handle._run(initial=initial, task_status=task_status)
        if exit.failure is not None:
            self._failures += 1
        if handle._state is not ChildState.STOPPED:
            restart = self._wants_restart(handle, exit.failure)
            handle._state = ChildState.RESTARTING if restart else ChildState.STOPPING
        self._exits.append(exit)
        self._notify()

    def _wants_restart(self, handle: ChildHandle, failure: Exception | None) -> bool:
        if self._stopping or handle._stop_requested:
            return False
        restart = handle.spec.restart
        return restart is RestartType.PERMANENT or (
            restart is RestartType.TRANSIENT and failure is not None
        )

    def _forget(self, handle: ChildHandle) -> None:
        if handle._active:
            self._handles.remove(handle)
            handle._forget()
            self._notify()

    # -- the control loop: one child's end at a time -----------------------------------

    def _notify(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()
        if self._no_enrolled is not None and not self._enrolled:
            self._no_enrolled.set()
            self._no_enrolled = None

    async def _supervise(self) -> None:
        while True:
            while self._exits:
                await self._handle_exit(self._exits.popleft())
            if self._stopping and not self._handles and not self._enrolled:
                return
            self._wakeup = wakeup = anyio.Event()
            await wakeup.wait()

    async def _handle_exit(self, exit: ChildExit) -> None:
        handle = exit.handle
        if not handle._active or exit.generation != handle._generation:
            return  # forgotten, or already restarted with a sibling
        if not self._wants_restart(handle, exit.failure):
            self._forget(handle)
        elif not self._window.allow(anyio.current_time()):
            self._give_up(handle, exit.failure)
        else:
            await self._restart(handle)

    def _give_up(self, handle: ChildHandle, failure: Exception | None) -> None:
        config = self._config
        error = RestartIntensityError(self._name, config.max_restarts, config.period)
        error.__cause__ = failure
        self._escalation = error
        logger.error(
            "Supervisor %r gave up: child %r ended again, more than %d restarts in %g s; "
            "stopping its other children.",
            self._name,
            handle.name,
            config.max_restarts,
            config.period,
        )
        self._forget(handle)
        self._begin_stop(config.shutdown_timeout)

    async def _restart(self, ended: ChildHandle) -> None:
        strategy = self._config.strategy
        targets = restart_targets(strategy, self._handles, ended, lambda h: h._alive)
        siblings = [handle for handle in targets if handle is not ended]
        now = anyio.current_time()
        for handle in reversed(siblings):
            handle._stop(handle._grace_deadline(now), final=False)
        for handle in reversed(siblings):
            await handle._task_done.wait()
        for handle in targets:
            temporary = handle is not ended and handle.spec.restart is RestartType.TEMPORARY
            if self._stopping or handle._stop_requested or temporary:
                self._forget(handle)
            elif handle._active:
                handle._restarts += 1
                self._restarts += 1
                logger.info(
                    "Restarting child %r of supervisor %r (%s, restart %d).",
                    handle.name,
                    self._name,
                    strategy.value,
                    handle._restarts,
                )
                await self._start(handle, initial=False)

    # -- enrolment -------------------------------------------------------------------

    def enroll(self, actor: Stoppable) -> AbstractContextManager[anyio.CancelScope, bool]:
        """Supervise an actor that runs in the caller's task, for the ``with`` block.

        For actors whose task someone else owns (a server runs each connection
        in its own task)::

            with supervisor.enroll(consumer):
                await consumer.run()

        The actor counts in :meth:`statistics` and shows in :meth:`tree`. On
        shutdown it gets ``request_stop()``, and the deadline of the cancel
        scope the block runs in moves to the end of the grace: what still runs
        then is cancelled, and execution continues after the block. It is a
        temporary child: an ``Exception`` leaving the block is logged once
        with its traceback, counted, and not raised further (react to it
        inside the block, e.g. close the connection with 1011).

        Args:
            actor: what to tell to stop; an :class:`~callboard.actors.Actor` fits.

        Returns:
            A context manager yielding the block's cancel scope (afterwards,
            ``cancelled_caught`` says whether the grace ran out).

        Raises:
            RuntimeError: the supervisor is not running (not yet, or stopping).

        Cancellation: cancellation from outside passes through untouched.
        """
        if self._task_group is None or self._stopping:
            raise RuntimeError(
                f"Supervisor {self._name!r} is {self._state.value}; it accepts no new enrolments."
            )
        return self._enrolled.enroll(actor)

    # -- introspection ---------------------------------------------------------------

    def children(self) -> list[ChildHandle]:
        """Return the current children's handles, in start order."""
        return list(self._handles)

    async def wait_enrolled_ended(self) -> None:
        """Return once no actor is enrolled (at once if none is).

        For a service the enrolled actors use until their last moment (a
        channel layer their disconnect handlers call): on shutdown it keeps
        serving until they have all ended, then stops.
        """
        while self._enrolled:
            if self._no_enrolled is None:
                self._no_enrolled = anyio.Event()
            await self._no_enrolled.wait()

    def enrolled(self) -> list[Stoppable]:
        """Return the actors enrolled right now, oldest first."""
        return self._enrolled.actors()

    def statistics(self) -> SupervisorStatistics:
        """Return a snapshot: children (nested supervisors too), restarts, failures, enrolled."""
        children = tuple(handle.statistics() for handle in self._handles)
        by_state = dict.fromkeys(ChildState, 0)
        for child in children:
            by_state[child.state] += 1
        return SupervisorStatistics(
            name=self._name,
            state=self._state,
            strategy=self._config.strategy,
            children=children,
            children_by_state=by_state,
            restarts=self._restarts,
            failures=self._failures + self._enrolled.failures,
            enrolled=len(self._enrolled),
            cancelled=self._enrolled.cancelled,
            gave_up=self._escalation is not None,
        )

    def tree(self) -> str:
        """Return the supervision tree as indented text, one line per child.

        A child's line gives its name, restart type, state and restarts; an
        actor adds its address and mailbox depth; a nested supervisor adds its
        strategy and lists its own children one level deeper. Enrolled actors
        come after the children.
        """
        return render_tree(self._name, self)

    def __repr__(self) -> str:
        return f"<Supervisor {self._name!r} {self._state.value} children={len(self._handles)}>"


@asynccontextmanager
async def open_supervisor(
    children: Iterable[ChildSpec] = (),
    *,
    name: str = "supervisor",
    config: SupervisorConfig | None = None,
) -> AsyncIterator[Supervisor]:
    """Run a supervisor for the ``async with`` block; it owns its task group.

    Args:
        children: started in order before the block is entered.
        name: for logs, errors, statistics and the tree.
        config: strategy, restart intensity and default grace.

    Returns:
        An async context manager yielding the running supervisor.

    Raises:
        RestartIntensityError: it gave up (the block was cancelled first),
            with the last child failure as ``__cause__``.
        Exception: an initial child failed to start, or the block raised.
            Errors surface bare, not in a group; an ``ExceptionGroup`` only
            when the block and the supervisor fail together.

    Lifetime: when the block ends normally the supervisor shuts down
    gracefully (``config.shutdown_timeout``) and the exit waits for that. When
    the block raises or is cancelled, every child is cancelled at once.
    """
    supervisor = Supervisor(name=name, children=children, config=config or SupervisorConfig())
    try:
        async with anyio.create_task_group() as task_group:
            await task_group.start(supervisor.run)
            yield supervisor
            supervisor.request_stop()
    except BaseExceptionGroup as group:
        _reraise_sole(group)
        raise


async def start_supervisor(
    nursery: _Nursery,
    children: Iterable[ChildSpec] = (),
    *,
    name: str = "supervisor",
    config: SupervisorConfig | None = None,
) -> Supervisor:
    """Start a supervisor in ``nursery``; return it once its initial children run.

    Args:
        nursery: the Trio nursery or AnyIO task group that owns the supervisor's task.
        children: started in order before this returns.
        name: for logs, errors, statistics and the tree.
        config: strategy, restart intensity and default grace.

    Returns:
        The running supervisor.

    Raises:
        Exception: an initial child failed before it was running.

    Lifetime: yours: it runs until :meth:`Supervisor.shutdown` or
    :meth:`Supervisor.request_stop`, or until ``nursery`` is cancelled. If it
    gives up, :class:`RestartIntensityError` is raised into ``nursery``.
    """
    supervisor = Supervisor(name=name, children=children, config=config or SupervisorConfig())
    started: Supervisor = await nursery.start(supervisor.run)
    return started


def supervisor_spec(
    name: str,
    children: Iterable[ChildSpec] = (),
    *,
    config: SupervisorConfig | None = None,
    restart: RestartType | str = RestartType.PERMANENT,
    shutdown_timeout: float | None = None,
) -> ChildSpec:
    """Return a spec that runs a nested supervisor as another supervisor's child.

    A nested supervisor that gives up fails as its parent's child, and the
    parent applies its own strategy and intensity: that is how failures
    escalate. Find the running one as ``handle.child``.

    Args:
        name: its name, as a supervisor and as a child.
        children: its children, started in order on every (re)start.
        config: its own strategy, intensity and grace for its children.
        restart: its restart type as its parent's child.
        shutdown_timeout: how long its parent lets it stop; ``None`` for the
            parent's grace.

    Returns:
        The spec, for :meth:`Supervisor.start_child` or ``open_supervisor``'s children.

    Raises:
        ValueError: an invalid name, restart type or timeout.
    """
    start = functools.partial(
        Supervisor, name=name, children=tuple(children), config=config or SupervisorConfig()
    )
    return ChildSpec(name=name, start=start, restart=restart, shutdown_timeout=shutdown_timeout)
