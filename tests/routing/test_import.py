"""Tests for ``callboard.routing/__init__``: importable and usable without Django settings."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
from django.conf import settings
from django.urls import include, path, re_path

from callboard.routing import URLRouter

async def app(scope, receive, send):
    pass

router = URLRouter(
    [
        path("ws/", include([path("chat/<slug:room>/", app)])),
        re_path(r"^feed/(?P<pk>[0-9]+)/$", app),
    ]
)
assert router.resolve("ws/chat/lobby/").kwargs == {"room": "lobby"}
assert router.resolve("feed/12/").kwargs == {"pk": "12"}
assert not settings.configured
print("ok")
"""


def test_routing_imports_and_resolves_without_django_settings() -> None:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}

    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"
