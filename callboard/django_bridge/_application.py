"""get_default_application: the project's ASGI application, from ``settings.ASGI_APPLICATION``.

Channels' function of the same name; ``runserver`` and ``runworker`` serve what it returns.

Not here: Django's views as an application (``_http``).
"""

from __future__ import annotations

import importlib

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from callboard._asgi import ASGIApp

__all__ = ["get_default_application"]


def get_default_application() -> ASGIApp:
    """Import and return the application named by ``settings.ASGI_APPLICATION``.

    Raises:
        ImproperlyConfigured: the setting is missing or names nothing
            importable (the message says which part failed).
    """
    path = getattr(settings, "ASGI_APPLICATION", None)
    if not isinstance(path, str) or "." not in path:
        raise ImproperlyConfigured(
            "Cannot find ASGI_APPLICATION setting: set it to the dotted path of your "
            "application, like 'myproject.asgi.application'."
        )
    module_path, name = path.rsplit(".", 1)
    try:
        module = importlib.import_module(module_path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"Cannot import ASGI_APPLICATION module {module_path!r}: {exc}"
        ) from exc
    try:
        application: ASGIApp = getattr(module, name)
    except AttributeError:
        raise ImproperlyConfigured(
            f"Cannot find {name!r} in ASGI_APPLICATION module {module_path!r}."
        ) from None
    return application
