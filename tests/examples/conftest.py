"""Fixtures for the chat example's tests: one migrated site served by ``runserver``."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from ._site import SiteProcess, prepare_site, start_site

_rooms = itertools.count(1)


@pytest.fixture(scope="package")
def chat_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteProcess]:
    """The example, migrated, with ``USERS``, served by ``manage.py runserver --noreload``."""
    directory = tmp_path_factory.mktemp("chat-site")
    site = start_site(prepare_site(directory), directory / "runserver.log")
    try:
        yield site
    finally:
        site.stop_cleanly()


@pytest.fixture
def room() -> str:
    """A room no other test uses."""
    return f"room-{next(_rooms)}"
