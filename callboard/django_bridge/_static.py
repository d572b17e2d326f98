"""Static files in development: ``STATIC_URL`` served from the staticfiles finders, under Trio.

What ``django.contrib.staticfiles``' handlers do for ``runserver``, on
callboard's request path: a file is found by the finders and sent as a
``FileResponse`` from a worker thread; every other scope goes to the
wrapped application. ``runserver`` wraps the project's application with it
when ``DEBUG`` is on (or with ``--insecure``), unless ``--nostatic``.

Not here: serving views (``_http``).
"""

from __future__ import annotations

from urllib.parse import urlparse

from django.contrib.staticfiles.handlers import StaticFilesHandlerMixin
from django.core.handlers import base

from callboard._asgi import ASGIApp, Receive, Scope, Send

from ._http import TrioHandler, serve_request

__all__ = ["StaticFilesHandler"]


class _StaticHandler(StaticFilesHandlerMixin, TrioHandler):  # type: ignore[misc]  # Django's mixin is untyped
    """Django's static-files request handling (``get_response`` serves a file)."""

    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.base_url = urlparse(self.get_base_url())


class StaticFilesHandler:
    """ASGI wrapper: serve ``STATIC_URL`` paths from the staticfiles finders, pass the rest on.

    Args:
        application: the project's application, for everything else.

    Raises:
        ImproperlyConfigured: ``STATIC_URL`` is not set (Django's check).
    """

    def __init__(self, application: ASGIApp) -> None:
        self.application = application
        self._handler = _StaticHandler()

    def should_handle(self, path: str) -> bool:
        """Whether ``path`` is under ``STATIC_URL`` (and ``STATIC_URL`` is local)."""
        return bool(self._handler._should_handle(path))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a static file, or hand the connection to the application."""
        if scope["type"] == "http" and self.should_handle(scope["path"]):
            await serve_request(self._handler, scope, receive, send)
        else:
            await self.application(scope, receive, send)
