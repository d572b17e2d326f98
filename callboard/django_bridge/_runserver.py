"""``manage.py runserver`` on hypercorn's Trio worker: HTTP, WebSockets, autoreload, static files.

Takes over Django's ``runserver`` the way daphne does: same arguments
(``addrport``, ``--ipv6``, ``--noreload``; ``--nothreading`` is accepted and
ignored), Django's autoreloader, system checks and migration warnings, plus
staticfiles' ``--nostatic`` and ``--insecure``. It serves
``settings.ASGI_APPLICATION`` (Django's views included when it routes
``"http"`` to ``get_asgi_application()``), wrapped in the static-files
handler when ``DEBUG`` is on. ``CALLBOARD["SERVER"]`` can set other
``ServerConfig`` options (``websocket_max_message_size`` ...).

List ``"callboard"`` above ``"django.contrib.staticfiles"`` in
``INSTALLED_APPS``, or staticfiles' ``runserver`` wins (check ``callboard.W001``).

Not here: serving (``callboard.server``).
"""

from __future__ import annotations

import errno
import functools
import os
import sys
import threading
from typing import Any
from urllib.parse import urlsplit

import attrs
import trio
from django.apps import apps
from django.conf import settings
from django.core.management.base import CommandParser
from django.core.management.commands.runserver import Command as DjangoRunserverCommand
from django.db import connections
from django.utils import autoreload

from callboard._asgi import ASGIApp
from callboard.server import ServerConfig, serve

from ._application import get_default_application
from ._config import bridge_config
from ._connections import close_pooled_connections
from ._static import StaticFilesHandler

__all__ = ["RunserverCommand"]

_DEVELOPMENT_DEFAULTS = {"access_log": True, "graceful_timeout": 1.0}

_BIND_ERRORS = {
    errno.EACCES: "You don't have permission to access that port.",
    errno.EADDRINUSE: "That port is already in use.",
    errno.EADDRNOTAVAIL: "That IP address can't be assigned to.",
}


class RunserverCommand(DjangoRunserverCommand):  # type: ignore[misc]  # Django is untyped
    """Django's ``runserver``, serving the ASGI application with hypercorn on Trio."""

    help = (
        "Starts a development server: hypercorn on Trio serving ASGI_APPLICATION "
        "(HTTP and WebSockets), with autoreload and static files."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Django's arguments, plus staticfiles' ``--nostatic`` and ``--insecure``."""
        super().add_arguments(parser)
        parser.add_argument(
            "--nostatic",
            action="store_false",
            dest="use_static_handler",
            help="Tells callboard NOT to serve static files from STATIC_URL.",
        )
        parser.add_argument(
            "--insecure",
            action="store_true",
            dest="insecure_serving",
            help="Serve static files even if DEBUG is False.",
        )

    def get_handler(self, *args: Any, **options: Any) -> ASGIApp:
        """Return the ASGI application to serve, with static files in development."""
        application = get_default_application()
        serve_static = (
            options.get("use_static_handler", True)
            and apps.is_installed("django.contrib.staticfiles")
            and (settings.DEBUG or options.get("insecure_serving", False))
        )
        return StaticFilesHandler(application) if serve_static else application

    def server_config(self) -> ServerConfig:
        """The server's config: development defaults, ``CALLBOARD["SERVER"]``, the address."""
        options = {**_DEVELOPMENT_DEFAULTS, **bridge_config().server}
        host = f"[{self.addr}]" if self._raw_ipv6 else self.addr
        if host == "0":
            host = "0.0.0.0"
        return attrs.evolve(ServerConfig.from_mapping(options), bind=(f"{host}:{self.port}",))

    def inner_run(self, *args: Any, **options: Any) -> None:
        """Check the project, then serve until interrupted (in the reloader's child)."""
        autoreload.raise_last_exception()
        if not options["skip_checks"]:
            self.stdout.write("Performing system checks...\n\n")
            check_kwargs = super(DjangoRunserverCommand, self).get_check_kwargs(options)
            check_kwargs["display_num_errors"] = True
            self.check(**check_kwargs)
        self.check_migrations()
        for connection in connections.all(initialized_only=True):
            connection.close()
        try:
            application = self.get_handler(*args, **options)
            trio.run(self._serve, application, self.server_config())
        except OSError as exc:
            self.stderr.write(f"Error: {_BIND_ERRORS.get(exc.errno or 0, exc)}")
            os._exit(1)  # sys.exit does not end the process from the reloader's thread
        except KeyboardInterrupt:
            shutdown_message = options.get("shutdown_message", "")
            if shutdown_message:
                self.stdout.write(shutdown_message)
            sys.exit(0)
        finally:
            close_pooled_connections()

    async def _serve(self, application: ASGIApp, config: ServerConfig) -> None:
        # Signals reach only the main thread; under the autoreloader this runs in
        # another one, and the reloader ends the process itself.
        trigger = (
            None if threading.current_thread() is threading.main_thread() else trio.sleep_forever
        )
        async with trio.open_nursery() as nursery:
            urls: list[str] = await nursery.start(
                functools.partial(serve, application, config, shutdown_trigger=trigger)
            )
            self.on_bind(urlsplit(urls[0]).port)
