"""The Django HTTP scenario's project: settings, two views, their URLs, and the application.

One module is the whole project (``settings.configure``, ``ROOT_URLCONF``
pointing here), served two ways:

- ``BENCH_DJANGO=callboard`` (the default): callboard's Trio-safe handler,
  ``callboard.django_bridge.get_asgi_application()``, mounted as a callboard
  project mounts it (``ProtocolTypeRouter({"http": ...})``), with
  ``"callboard"`` in ``INSTALLED_APPS`` as docs/django.md asks;
- ``BENCH_DJANGO=django``: Django's own ``django.core.asgi.get_asgi_application()``
  in a plain Django project (no ``"callboard"`` app, so none of its asgiref
  patches are installed; they act only in Trio tasks anyway).

Everything else is the same for both: ``DEBUG`` off, no database, and a
middleware chain a real project has minus the parts that need a database
(sessions, auth, messages): security, common (it sets ``Content-Length``),
CSRF and X-Frame-Options. Every middleware here is sync- and async-capable,
so Django's ASGI handler runs the chain on the event loop and the sync view
in the request's thread-sensitive executor (asgiref starts one, with its own
thread, per request), as it does in production; callboard runs chain and view
in a worker thread from its pool.

Endpoints: ``GET /hello/`` a plain ``HttpResponse("hello")``; ``GET /json/``
a small ``JsonResponse``. ``BENCH_HTTP_THREADS``, a diagnostic knob the suite
never sets, overrides callboard's ``HTTP_THREAD_LIMIT``; ``BENCH_GC`` applies as
in every bench application.

Not here: the WebSocket protocol (``callboard_app``, ``channels_app``).
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from ._gc import apply_gc_knob

__all__ = ["FLAVOURS", "application", "hello", "json_view", "urlpatterns"]

FLAVOURS = ("callboard", "django")
"""The values of ``BENCH_DJANGO``: whose ASGI handler serves the views."""

_FLAVOUR = os.environ.get("BENCH_DJANGO", "callboard")
if _FLAVOUR not in FLAVOURS:
    raise ValueError(f"BENCH_DJANGO must be one of {FLAVOURS}, got {_FLAVOUR!r}.")

_JSON_PAYLOAD: dict[str, Any] = {
    "id": 42,
    "name": "callboard",
    "tags": ["trio", "django", "asgi"],
    "active": True,
}


def hello(request: HttpRequest) -> HttpResponse:
    """The plain view: five bytes of text."""
    return HttpResponse(b"hello", content_type="text/plain")


def json_view(request: HttpRequest) -> JsonResponse:
    """A small JSON document, serialised per request."""
    return JsonResponse(_JSON_PAYLOAD)


urlpatterns = [
    path("hello/", hello),
    path("json/", json_view),
]

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    SECRET_KEY="bench-only-not-secret",
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["callboard"] if _FLAVOUR == "callboard" else [],
    MIDDLEWARE=[
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ],
    DATABASES={},
    USE_TZ=True,
    # A diagnostic knob like BENCH_DB_THREADS: unset, callboard's default applies.
    **(
        {"CALLBOARD": {"HTTP_THREAD_LIMIT": int(os.environ["BENCH_HTTP_THREADS"])}}
        if _FLAVOUR == "callboard" and os.environ.get("BENCH_HTTP_THREADS")
        else {}
    ),
)

if _FLAVOUR == "callboard":
    from callboard.django_bridge import get_asgi_application
    from callboard.routing import ProtocolTypeRouter

    application: Any = ProtocolTypeRouter({"http": get_asgi_application()})
else:
    from django.core.asgi import get_asgi_application as get_django_asgi_application

    application = get_django_asgi_application()

apply_gc_knob()
