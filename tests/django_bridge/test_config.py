"""Settings: ``CALLBOARD`` validated, ``CHANNEL_LAYERS`` fed to the layers, both followed."""

from __future__ import annotations

import pytest

from callboard.django_bridge import BridgeConfig, SettingsError, bridge_config


def test_the_project_settings_are_read() -> None:
    assert bridge_config().database_thread_limit == 8
    assert bridge_config().worker == {"shutdown_timeout": 2}


def test_an_unknown_key_is_an_error_listing_the_valid_ones() -> None:
    class Settings:
        CALLBOARD = {"DATABASE_THREADS": 4}

    with pytest.raises(SettingsError, match=r"unknown key 'DATABASE_THREADS'.*'HTTP_THREAD_LIMIT'"):
        BridgeConfig.from_settings(Settings())


def test_a_bad_value_is_an_error() -> None:
    from django.core.exceptions import ImproperlyConfigured

    class Settings:
        CALLBOARD = {"HTTP_THREAD_LIMIT": 0}

    with pytest.raises(ImproperlyConfigured, match="HTTP_THREAD_LIMIT must be an int >= 1"):
        BridgeConfig.from_settings(Settings())


def test_override_settings_resets_callboard_and_channel_layers() -> None:
    from django.test import override_settings

    from callboard.layers import channel_layers

    layers = {"other": {"BACKEND": "callboard.layers.InMemoryChannelLayer"}}
    with override_settings(CALLBOARD={"DATABASE_THREAD_LIMIT": 3}, CHANNEL_LAYERS=layers):
        assert bridge_config().database_thread_limit == 3
        assert channel_layers.aliases() == ["other"]
    assert bridge_config().database_thread_limit == 8
    assert channel_layers.aliases() == ["default"]


def test_callboard_before_staticfiles_is_checked() -> None:
    from django.test import override_settings

    from callboard.django_bridge._setup import check_app_order

    assert check_app_order() == []
    apps = ["django.contrib.staticfiles", "callboard"]
    with override_settings(INSTALLED_APPS=apps):
        [warning] = check_app_order()
    assert warning.id == "callboard.W001"


def test_get_default_application_reports_a_missing_setting() -> None:
    from django.core.exceptions import ImproperlyConfigured
    from django.test import override_settings

    from callboard.django_bridge import get_default_application

    with (
        override_settings(ASGI_APPLICATION="nowhere.asgi.application"),
        pytest.raises(ImproperlyConfigured, match="Cannot import ASGI_APPLICATION module"),
    ):
        get_default_application()
