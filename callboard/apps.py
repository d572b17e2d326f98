"""callboard's Django app config: ``INSTALLED_APPS = [..., "callboard", ...]``.

``ready()`` installs the Trio support for Django's async APIs, feeds
``CHANNEL_LAYERS`` to ``callboard.layers`` and follows ``override_settings``
(see ``callboard.django_bridge._setup``). The app also brings the
``runserver`` and ``runworker`` management commands.
"""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ["CallboardConfig"]


class CallboardConfig(AppConfig):  # type: ignore[misc]  # Django is untyped
    """callboard as a Django app."""

    name = "callboard"
    verbose_name = "callboard"

    def ready(self) -> None:
        """Set the Django bridge up (Trio support, channel layers, settings)."""
        from callboard.django_bridge._setup import setup_bridge

        setup_bridge()
