"""Background workers: ``ChannelNameRouter`` consumers for named channels, supervised.

What ``python manage.py runworker <channel>...`` runs. Each channel gets one
application instance with the scope ``{"type": "channel", "channel": name}``,
fed the messages the channel layer receives on that name, as in Channels.
Each is a permanent child of one supervisor: when it ends (a consumer's
handler raised, or the router failed) it is started again after a delay that
doubles from ``restart_initial_interval`` up to ``restart_max_interval`` (and
starts over after a run that lasted longer than that); more than
``max_restarts`` restarts within ``period`` seconds and the worker gives up
with :class:`~callboard.exceptions.RestartIntensityError`. On shutdown
(SIGINT, SIGTERM) the consumers finish the message in hand and stop, within
``shutdown_timeout``.

Not here: the command line (``_runworker``).
"""

from __future__ import annotations

import functools
import logging
import math
import signal
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, NoReturn

import anyio
import attrs
import trio
from anyio.abc import TaskStatus

from callboard._asgi import ASGIApp, Message
from callboard.actors import ChildSpec, Supervisor, SupervisorConfig, current_runtime
from callboard.layers import DEFAULT_CHANNEL_LAYER, ChannelLayer, get_channel_layer

__all__ = ["WorkerConfig", "run_worker", "serve_worker"]

logger = logging.getLogger("callboard.worker")


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
        raise ValueError(f"{attribute.name} must be a finite number >= 0, got {value!r}.")


def _positive(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ValueError(f"{attribute.name} must be a positive, finite number, got {value!r}.")


@attrs.frozen(kw_only=True)
class WorkerConfig:
    """How a worker restarts and stops its channel consumers.

    Attributes:
        max_restarts: restarts allowed within ``period`` before the worker gives up.
        period: the window for ``max_restarts``, in seconds.
        restart_initial_interval: delay before the first restart, in seconds.
        restart_max_interval: the longest delay between restarts, in seconds.
        shutdown_timeout: seconds consumers get to finish on shutdown.
    """

    max_restarts: int = attrs.field(default=10, validator=attrs.validators.ge(0))
    period: float = attrs.field(default=60.0, validator=_positive)
    restart_initial_interval: float = attrs.field(default=0.1, validator=_non_negative)
    restart_max_interval: float = attrs.field(default=5.0, validator=_non_negative)
    shutdown_timeout: float = attrs.field(default=10.0, validator=_non_negative)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> WorkerConfig:
        """Build from ``CALLBOARD["WORKER"]`` (keys are attribute names, any case).

        Raises:
            ValueError: an unknown key (listing the valid ones) or a bad value.
        """
        valid = {field.name for field in attrs.fields(cls)}
        given = {key.lower(): value for key, value in mapping.items()}
        unknown = sorted(set(given) - valid)
        if unknown:
            raise ValueError(
                f"Unknown worker setting(s) {', '.join(map(repr, unknown))}; "
                f"valid: {', '.join(sorted(valid))}."
            )
        return cls(**given)


@attrs.define(eq=False)
class _Backoff:
    """The delay before each (re)start of one channel's consumer."""

    _config: WorkerConfig
    _delay: float = 0.0
    _started_at: float | None = None

    async def before_start(self) -> None:
        config = self._config
        now = anyio.current_time()
        if self._started_at is not None:
            if now - self._started_at > config.restart_max_interval:
                self._delay = config.restart_initial_interval
            else:
                self._delay = min(
                    max(self._delay * 2, config.restart_initial_interval),
                    config.restart_max_interval,
                )
            await anyio.sleep(self._delay)
        self._started_at = anyio.current_time()


async def _no_client(message: Message) -> NoReturn:
    raise RuntimeError(
        f"A channel worker has no client to send {message.get('type')!r} to; "
        "send to other channels or groups through the channel layer instead."
    )


@attrs.define(eq=False)
class _ChannelChild:
    """Runs the application for one channel; a supervisor's permanent child.

    Its consumer enrols with the worker's supervisor, which asks it to stop
    on shutdown (it finishes the message in hand); :meth:`request_stop`
    itself has nothing else to stop.
    """

    _application: ASGIApp
    _layer: ChannelLayer
    _channel: str
    _backoff: _Backoff

    @property
    def name(self) -> str:
        """The channel it serves."""
        return self._channel

    async def run(self) -> None:
        await self._backoff.before_start()
        scope = {"type": "channel", "channel": self._channel}
        await self._application(scope, self._receive, _no_client)

    async def _receive(self) -> Message:
        message = await self._layer.receive(self._channel)
        if not message.get("type"):
            raise ValueError(f"Worker received a message with no type on {self._channel!r}.")
        return message

    def request_stop(self) -> None:
        """Nothing to do: the enrolled consumer is asked to stop by the supervisor."""


async def serve_worker(
    application: ASGIApp,
    channels: Iterable[str],
    *,
    layer_alias: str = DEFAULT_CHANNEL_LAYER,
    config: WorkerConfig | None = None,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    task_status: TaskStatus[Supervisor] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``channels`` with ``application`` until ``shutdown_trigger`` returns.

    Args:
        application: usually the project's ``ProtocolTypeRouter`` with a
            ``"channel": ChannelNameRouter({...})`` entry.
        channels: the channel names to listen on (at least one).
        layer_alias: the channel layer to receive from.
        config: restarts and shutdown; ``WorkerConfig()`` by default.
        shutdown_trigger: returning starts a graceful shutdown; by default
            SIGINT or SIGTERM.
        task_status: for ``nursery.start``; receives the supervisor once every
            channel's consumer runs.

    Raises:
        ValueError: no channels, or the same channel twice.
        InvalidChannelLayerError: ``layer_alias`` is not configured.
        RestartIntensityError: consumers ended too often; the last failure is
            its ``__cause__``.

    Lifetime: returns after the graceful shutdown.
    """
    names = list(channels)
    if not names:
        raise ValueError("A worker needs at least one channel name to listen on.")
    if len(set(names)) != len(names):
        raise ValueError(f"Channel names repeat in {names!r}; name each channel once.")
    config = config if config is not None else WorkerConfig()
    layer = get_channel_layer(layer_alias)
    specs = [
        ChildSpec(
            name=name,
            start=functools.partial(_ChannelChild, application, layer, name, _Backoff(config)),
            restart="permanent",
        )
        for name in names
    ]
    supervisor = Supervisor(
        name="callboard.worker",
        children=specs,
        config=SupervisorConfig(
            max_restarts=config.max_restarts,
            period=config.period,
            shutdown_timeout=config.shutdown_timeout,
        ),
    )
    if shutdown_trigger is None:
        # Open the receiver before anything runs, so a signal is never missed.
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:

            async def on_signal() -> None:
                async for signum in received:
                    logger.info("Received %s: stopping.", signal.Signals(signum).name)
                    return

            await _supervise(supervisor, names, on_signal, task_status)
    else:
        await _supervise(supervisor, names, shutdown_trigger, task_status)


async def _supervise(
    supervisor: Supervisor,
    names: list[str],
    trigger: Callable[[], Awaitable[None]],
    task_status: TaskStatus[Supervisor],
) -> None:
    async def stop_when_triggered() -> None:
        await trigger()
        supervisor.request_stop()

    logger.info("Worker starting on channel(s) %s.", ", ".join(map(repr, names)))
    with current_runtime().using_supervisor(supervisor):
        try:
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(stop_when_triggered)
                try:
                    await supervisor.run(task_status=task_status)
                finally:
                    task_group.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            if len(group.exceptions) == 1 and isinstance(group.exceptions[0], Exception):
                raise group.exceptions[0] from group.exceptions[0].__cause__
            raise
    logger.info("Worker stopped.")


def run_worker(
    application: ASGIApp,
    channels: Iterable[str],
    *,
    layer_alias: str = DEFAULT_CHANNEL_LAYER,
    config: WorkerConfig | None = None,
    ready: Callable[[Supervisor], None] | None = None,
) -> None:
    """Run :func:`serve_worker` in this process until SIGINT or SIGTERM (blocking).

    Closes the database connections worker threads keep before returning.

    Args:
        application: as :func:`serve_worker`.
        channels: as :func:`serve_worker`.
        layer_alias: as :func:`serve_worker`.
        config: as :func:`serve_worker`.
        ready: called with the supervisor once every consumer runs and
            signals are handled.

    Raises:
        RestartIntensityError: as :func:`serve_worker`.
    """
    from ._connections import close_pooled_connections

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            supervisor: Supervisor = await nursery.start(
                functools.partial(
                    serve_worker, application, channels, layer_alias=layer_alias, config=config
                )
            )
            if ready is not None:
                ready(supervisor)

    try:
        trio.run(main)
    except BaseExceptionGroup as group:
        if len(group.exceptions) == 1 and isinstance(group.exceptions[0], Exception):
            raise group.exceptions[0] from group.exceptions[0].__cause__
        raise
    finally:
        close_pooled_connections()
