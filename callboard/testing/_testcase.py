"""ChannelsLiveServerTestCase: Channels' live-server test case, serving the project with callboard.

Channels' class of the same name is a Django ``TransactionTestCase`` that
serves ``settings.ASGI_APPLICATION`` with daphne for Selenium and other real
clients. This one has the same class attributes and properties (``host``,
``serve_static``, ``static_wrapper``, ``ProtocolServerProcess``,
``live_server_url``, ``live_server_ws_url``), so a Channels test ports by
its import line, and serves the project with callboard's own server
(hypercorn's Trio worker) in a background thread of the test process
(:class:`~callboard.testing.LiveServerThread`) rather than in a separate
process:

- The server sees the test's settings as they are: the test databases
  Django's runner created (every alias, SQLite file or PostgreSQL alike),
  ``override_settings`` on the class, a settings module or
  ``settings.configure()``. Channels' daphne process re-derives the
  ``default`` alias's test name and cannot work with an in-memory database.
- An in-memory SQLite test database (Django's default for SQLite) works:
  as Django's own ``LiveServerTestCase`` does, the server then uses the test
  thread's database connections, one call at a time
  (:func:`~callboard.django_bridge.share_connections`), because that
  database lives in the test thread's connection.
- No fork of a threaded process, no pickling of the application, and
  start-up costs no second ``django.setup()``.

Not here: the server thread (``_live_server_thread``); the server (``_live_server``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from django.db import connections
from django.test.testcases import TransactionTestCase
from django.test.utils import modify_settings
from django.utils.functional import classproperty

from callboard._asgi import ASGIApp
from callboard.django_bridge import (
    StaticFilesHandler,
    close_pooled_connections,
    get_default_application,
    share_connections,
)

from ._live_server_thread import LiveServerThread

__all__ = ["ChannelsLiveServerTestCase"]


class ChannelsLiveServerTestCase(TransactionTestCase):  # type: ignore[misc]  # Django is untyped
    """A ``TransactionTestCase`` with the project's ASGI application served for real clients.

    ``setUpClass`` starts callboard's server on a free port of ``host``,
    serving ``settings.ASGI_APPLICATION`` (wrapped in ``static_wrapper``
    when ``serve_static``), and adds ``host`` to ``ALLOWED_HOSTS`` so
    ``AllowedHostsOriginValidator`` lets the browser in; ``tearDownClass``
    stops it gracefully (open WebSockets are closed with 1001). Tests reach it
    at ``self.live_server_url`` (``http://localhost:PORT``) and
    ``self.live_server_ws_url`` (``ws://localhost:PORT``).

    As with any ``TransactionTestCase``, what a test writes is committed,
    so the server sees it, and every table is emptied after each test.

    Class attributes:
        host: the address the server binds and the URLs name (``"localhost"``).
        port: the port to bind; 0 (the default) picks a free one.
        serve_static: serve ``STATIC_URL`` from the staticfiles finders,
            like Django's ``StaticLiveServerTestCase``, whatever ``DEBUG`` is.
        static_wrapper: the ASGI wrapper that does so
            (:class:`callboard.django_bridge.StaticFilesHandler`).
        ProtocolServerProcess: the class that runs the server, called as
            ``ProtocolServerProcess(application, host=..., port=...)`` and
            then ``start()`` / ``stop()``; Channels' name, kept for
            subclasses that swap it. Here it is a thread:
            :class:`~callboard.testing.LiveServerThread`.
    """

    host: ClassVar[str] = "localhost"
    port: ClassVar[int] = 0
    serve_static: ClassVar[bool] = True
    static_wrapper: ClassVar[Callable[[ASGIApp], ASGIApp] | None] = StaticFilesHandler
    ProtocolServerProcess: ClassVar[type[LiveServerThread]] = LiveServerThread

    _server_process: ClassVar[LiveServerThread | None] = None
    _port: ClassVar[int | None] = None

    @classproperty  # type: ignore[untyped-decorator]  # Django is untyped
    def live_server_url(cls) -> str:
        """``http://HOST:PORT``, once ``setUpClass`` has started the server."""
        return f"http://{cls._netloc()}"

    @classproperty  # type: ignore[untyped-decorator]  # Django is untyped
    def live_server_ws_url(cls) -> str:
        """``ws://HOST:PORT``, once ``setUpClass`` has started the server; append the path."""
        return f"ws://{cls._netloc()}"

    @classmethod
    def _netloc(cls) -> str:
        if cls._port is None:
            raise RuntimeError(
                f"{cls.__name__} has no live server yet: its URLs are known once "
                "setUpClass() has started it (call super().setUpClass() first)."
            )
        host = f"[{cls.host}]" if ":" in cls.host else cls.host
        return f"{host}:{cls._port}"

    @classmethod
    def setUpClass(cls) -> None:
        """Start the live server (after Django's class set-up); return once it listens.

        Raises:
            ImproperlyConfigured: ``ASGI_APPLICATION`` is missing or names
                nothing importable.
            OSError: ``host:port`` could not be bound.
            TimeoutError: the server did not listen in time.
        """
        super().setUpClass()
        cls.enterClassContext(modify_settings(ALLOWED_HOSTS={"append": cls.host}))
        if cls._in_memory_aliases():
            cls.enterClassContext(share_connections())
        application = get_default_application()
        if cls.serve_static and cls.static_wrapper is not None:
            application = cls.static_wrapper(application)
        server = cls.ProtocolServerProcess(application, host=cls.host, port=cls.port)
        server.start()
        cls._server_process = server
        cls._port = server.port
        # Also when a subclass's setUpClass fails after this one returned.
        cls.addClassCleanup(cls._stop_live_server)

    @classmethod
    def tearDownClass(cls) -> None:
        """Stop the live server gracefully, then Django's class tear-down."""
        cls._stop_live_server()
        super().tearDownClass()

    @classmethod
    def _stop_live_server(cls) -> None:
        """Stop the server, if running, and close the connections its threads kept. Idempotent."""
        server, cls._server_process = cls._server_process, None
        if server is None:
            return
        cls._port = None
        try:
            server.stop()
        finally:
            # Worker threads keep their connections between calls; a test
            # database with open connections cannot be dropped (PostgreSQL).
            close_pooled_connections()

    @classmethod
    def _in_memory_aliases(cls) -> list[str]:
        """The aliases whose test database is in-memory SQLite, visible to this thread only."""
        return [
            str(connection.alias)
            for connection in connections.all()
            if connection.vendor == "sqlite" and connection.is_in_memory_db()
        ]
