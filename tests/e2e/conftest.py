"""Fixtures for end-to-end tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ._server import RunningServer, open_server
from .chat_app import application


@pytest.fixture
async def chat_server() -> AsyncIterator[RunningServer]:
    """The chat, served by ``callboard.server.serve`` on a free port in this test's loop."""
    async with open_server(application, graceful_timeout=1.0) as server:
        yield server
