"""``manage.py runworker <channel>...``: ``ChannelNameRouter`` consumers as supervised workers.

Channels' command and arguments (``--layer``). Serves
``settings.ASGI_APPLICATION``'s ``"channel"`` scopes; restarts and
shutdown are ``CALLBOARD["WORKER"]`` options (see ``WorkerConfig``). Exits 0
after SIGINT or SIGTERM, non-zero when the consumers kept failing.

Not here: the worker itself (``_worker``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from callboard.exceptions import InvalidChannelLayerError, RestartIntensityError
from callboard.layers import DEFAULT_CHANNEL_LAYER, channel_layers

from ._application import get_default_application
from ._config import bridge_config
from ._worker import WorkerConfig, run_worker

__all__ = ["RunworkerCommand"]

logger = logging.getLogger("callboard.worker")


class RunworkerCommand(BaseCommand):  # type: ignore[misc]  # Django is untyped
    """Run the project's ``ChannelNameRouter`` consumers for the named channels."""

    help = "Runs background workers: consumers for the named channels, supervised."
    leave_locale_alone = True

    def add_arguments(self, parser: CommandParser) -> None:
        """``--layer`` and the channel names (Channels' arguments)."""
        parser.add_argument(
            "--layer",
            action="store",
            dest="layer",
            default=DEFAULT_CHANNEL_LAYER,
            help="Channel layer alias to use, if not the default.",
        )
        parser.add_argument("channels", nargs="+", help="Channels to listen on.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Serve the channels until SIGINT or SIGTERM."""
        alias = options["layer"]
        if alias not in channel_layers:
            raise CommandError(
                f"No channel layer {alias!r} is configured; configured: "
                f"{', '.join(map(repr, channel_layers.aliases()))}."
            )
        try:
            config = WorkerConfig.from_mapping(bridge_config().worker)
        except ValueError as exc:
            raise CommandError(f"settings.CALLBOARD['WORKER']: {exc}") from exc
        channels = options["channels"]

        def ready(supervisor: object) -> None:
            self.stdout.write(f"Running worker for channels {channels}")
            self.stdout.flush()

        try:
            run_worker(
                get_default_application(), channels, layer_alias=alias, config=config, ready=ready
            )
        except (RestartIntensityError, InvalidChannelLayerError) as exc:
            raise CommandError(str(exc)) from exc
