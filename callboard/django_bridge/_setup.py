"""What callboard's app config does when Django is ready: Trio support, layers, settings, checks.

:func:`setup_bridge` installs the asgiref integration, feeds
``CHANNEL_LAYERS`` to ``callboard.layers``, checks the ``CALLBOARD`` setting,
and follows ``override_settings`` / ``setting_changed`` for both. It also
registers the system check that ``"callboard"`` precedes
``"django.contrib.staticfiles"`` in ``INSTALLED_APPS`` (so its ``runserver``
wins), and closes the connections worker threads keep when the process exits.

Not here: the patches themselves (``_integration``).
"""

from __future__ import annotations

import atexit
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.signals import setting_changed

from callboard.layers import configure_channel_layers, reset_channel_layers

from ._config import bridge_config, reset_bridge_config
from ._connections import close_pooled_connections
from ._integration import install_trio_support

__all__ = ["check_app_order", "on_setting_changed", "setup_bridge"]

_STATICFILES = "django.contrib.staticfiles"
_atexit_registered = False


def on_setting_changed(*, setting: str, value: Any, enter: bool, **kwargs: Any) -> None:
    """Follow changes of ``CHANNEL_LAYERS`` and ``CALLBOARD`` (``override_settings``).

    A changed ``CHANNEL_LAYERS`` reconfigures the layer manager (built layers
    are forgotten); a changed ``CALLBOARD`` is read again on next use.
    """
    if setting == "CHANNEL_LAYERS":
        if value is None:
            reset_channel_layers()
        else:
            configure_channel_layers(value)
    elif setting == "CALLBOARD":
        reset_bridge_config()
        bridge_config()


def check_app_order(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Warn when ``django.contrib.staticfiles`` comes before ``callboard`` in ``INSTALLED_APPS``.

    Django uses the ``runserver`` of the first app that has one; staticfiles'
    would then serve WSGI without WebSockets.
    """
    installed = list(settings.INSTALLED_APPS)
    names = [name.split(".apps.")[0] for name in installed]
    if (
        "callboard" in names
        and _STATICFILES in names
        and names.index(_STATICFILES) < names.index("callboard")
    ):
        return [
            checks.Warning(
                "'callboard' comes after 'django.contrib.staticfiles' in INSTALLED_APPS, "
                "so `manage.py runserver` is staticfiles' WSGI server, without WebSockets.",
                hint="Move 'callboard' above 'django.contrib.staticfiles'.",
                id="callboard.W001",
            )
        ]
    return []


def setup_bridge() -> None:
    """Set the bridge up for a ready Django project (callboard's ``AppConfig.ready``).

    Raises:
        SettingsError: ``CALLBOARD`` is malformed.
        InvalidChannelLayerError: ``CHANNEL_LAYERS`` is malformed.
    """
    global _atexit_registered
    install_trio_support()
    reset_bridge_config()
    bridge_config()
    configure_channel_layers(getattr(settings, "CHANNEL_LAYERS", None))
    setting_changed.connect(on_setting_changed, dispatch_uid="callboard.setting_changed")
    checks.register(check_app_order, checks.Tags.compatibility)
    if not _atexit_registered:
        atexit.register(close_pooled_connections)
        _atexit_registered = True
