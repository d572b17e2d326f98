"""Headless Chromium for the examples' tests: where it is, how to launch it, skipping without it.

Debian's ``chromium`` is launched through Playwright's Python package (its
bundled driver, no browser download). Without Chromium (or Playwright) a
browser test is skipped, saying why; with ``CALLBOARD_REQUIRE_SERVICES`` set
(CI) it fails instead.

Not here: driving pages (``test_browser``).
"""

from __future__ import annotations

import os

import pytest

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "require_browser"]

CHROMIUM = os.environ.get("CALLBOARD_CHROMIUM", "/usr/bin/chromium")
"""The browser binary (Debian's ``chromium`` package)."""
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_browser() -> None:
    """Skip the test unless Chromium and Playwright are here (under CI: fail it)."""
    reason = None
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright package is not installed (pip install -e '.[test]')"
    if reason is not None:
        if os.environ.get("CALLBOARD_REQUIRE_SERVICES"):
            pytest.fail(f"{reason}, and CALLBOARD_REQUIRE_SERVICES is set", pytrace=False)
        pytest.skip(reason)
