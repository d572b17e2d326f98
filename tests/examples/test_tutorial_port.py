"""The Channels tutorial's chat ports to callboard by changing its imports, and nothing else.

The sources (``_tutorial``) are the tutorial's own files as Channels 4.x
publishes them: the first echo consumer, the synchronous ``WebsocketConsumer``
chat, the ``AsyncWebsocketConsumer`` chat, and ``chat/routing.py``. Each test does
what the migration guide says — rename the package in the import lines,
``channels.`` → ``callboard.`` — writes the result out as a package, imports
it, and drives it through the tutorial's ``URLRouter`` with
``WebsocketCommunicator``, as the tutorial's browser test drives a room.
That browser test itself, on a live server, is ``test_tutorial_part_4``.
"""

from __future__ import annotations

import importlib
import itertools
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from callboard.routing import URLRouter
from callboard.testing import WebsocketCommunicator

from ._tutorial import (
    CHAT_CONSUMERS,
    PART_2_ECHO_CONSUMER,
    ROUTING,
    port,
)

_packages = itertools.count(1)


@pytest.fixture
def install(tmp_path: Path) -> Iterator[Callable[[str], ModuleType]]:
    """Write ported tutorial files as a fresh package; import and return its ``routing``."""
    names: list[str] = []

    def install(consumers: str) -> ModuleType:
        name = f"tutorial_chat_{next(_packages)}"
        package = tmp_path / name
        package.mkdir()
        (package / "__init__.py").write_text("")
        (package / "consumers.py").write_text(port(consumers))
        (package / "routing.py").write_text(port(ROUTING))
        names.append(name)
        return importlib.import_module(f"{name}.routing")

    sys.path.insert(0, str(tmp_path))
    try:
        yield install
    finally:
        sys.path.remove(str(tmp_path))
        for name in names:
            for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
                del sys.modules[module]


# --- The tests ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source", [PART_2_ECHO_CONSUMER, *CHAT_CONSUMERS.values(), ROUTING], ids=str.splitlines
)
def test_the_port_changes_import_lines_only(source: str) -> None:
    changed = [
        (before, after)
        for before, after in zip(source.splitlines(), port(source).splitlines(), strict=True)
        if before != after
    ]

    assert all(after.startswith(("from callboard.", "import callboard.")) for _, after in changed)
    assert re.search(r"\bchannels\b", port(source)) is None


async def test_the_first_tutorial_consumer_echoes(install: Callable[[str], ModuleType]) -> None:
    routing = install(PART_2_ECHO_CONSUMER)
    application = URLRouter(routing.websocket_urlpatterns)

    async with WebsocketCommunicator(application, "/ws/chat/lobby/") as communicator:
        connected, _ = await communicator.connect()
        assert connected
        await communicator.send_json_to({"message": "hello"})
        assert await communicator.receive_json_from() == {"message": "hello"}


@pytest.mark.parametrize("consumers", CHAT_CONSUMERS.values(), ids=CHAT_CONSUMERS.keys())
async def test_the_tutorial_chat_relays_a_message_to_everyone_in_its_room(
    install: Callable[[str], ModuleType], consumers: str
) -> None:
    routing = install(consumers)
    application = URLRouter(routing.websocket_urlpatterns)

    async with (
        WebsocketCommunicator(application, "/ws/chat/lobby/") as first,
        WebsocketCommunicator(application, "/ws/chat/lobby/") as second,
        WebsocketCommunicator(application, "/ws/chat/kitchen/") as elsewhere,
    ):
        for communicator in (first, second, elsewhere):
            connected, _ = await communicator.connect()
            assert connected
        await second.send_json_to({"message": "hello"})

        assert await first.receive_json_from() == {"message": "hello"}
        assert await second.receive_json_from() == {"message": "hello"}
        assert await elsewhere.receive_nothing()

        await second.disconnect()
        await first.send_json_to({"message": "still here?"})
        assert await first.receive_json_from() == {"message": "still here?"}
