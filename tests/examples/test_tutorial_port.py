"""The Channels tutorial's chat ports to callboard by changing its imports, and nothing else.

The sources below are the tutorial's own files as Channels 4.x publishes them
(``docs/tutorial/part_2.rst`` and ``part_3.rst``, BSD-3-Clause): the first echo
consumer, the synchronous ``WebsocketConsumer`` chat, the
``AsyncWebsocketConsumer`` chat, and ``chat/routing.py``. Each test does
what the migration guide says — rename the package in the import lines,
``channels.`` → ``callboard.`` — writes the result out as a package, imports
it, and drives it through the tutorial's ``URLRouter`` with
``WebsocketCommunicator``, as the tutorial's browser test drives a room.
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

# --- The tutorial's files, as published ----------------------------------------------

PART_2_ECHO_CONSUMER = """\
# chat/consumers.py
import json

from channels.generic.websocket import WebsocketConsumer


class ChatConsumer(WebsocketConsumer):
    def connect(self):
        self.accept()

    def disconnect(self, close_code):
        pass

    def receive(self, text_data):
        text_data_json = json.loads(text_data)
        message = text_data_json["message"]

        self.send(text_data=json.dumps({"message": message}))
"""

PART_2_SYNC_CHAT_CONSUMER = """\
# chat/consumers.py
import json

from asgiref.sync import async_to_sync
from channels.generic.websocket import WebsocketConsumer


class ChatConsumer(WebsocketConsumer):
    def connect(self):
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = "chat_%s" % self.room_name

        # Join room group
        async_to_sync(self.channel_layer.group_add)(
            self.room_group_name, self.channel_name
        )

        self.accept()

    def disconnect(self, close_code):
        # Leave room group
        async_to_sync(self.channel_layer.group_discard)(
            self.room_group_name, self.channel_name
        )

    # Receive message from WebSocket
    def receive(self, text_data):
        text_data_json = json.loads(text_data)
        message = text_data_json["message"]

        # Send message to room group
        async_to_sync(self.channel_layer.group_send)(
            self.room_group_name, {"type": "chat_message", "message": message}
        )

    # Receive message from room group
    def chat_message(self, event):
        message = event["message"]

        # Send message to WebSocket
        self.send(text_data=json.dumps({"message": message}))
"""

PART_3_ASYNC_CHAT_CONSUMER = """\
# chat/consumers.py
import json

from channels.generic.websocket import AsyncWebsocketConsumer


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = "chat_%s" % self.room_name

        # Join room group
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)

        await self.accept()

    async def disconnect(self, close_code):
        # Leave room group
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    # Receive message from WebSocket
    async def receive(self, text_data):
        text_data_json = json.loads(text_data)
        message = text_data_json["message"]

        # Send message to room group
        await self.channel_layer.group_send(
            self.room_group_name, {"type": "chat_message", "message": message}
        )

    # Receive message from room group
    async def chat_message(self, event):
        message = event["message"]

        # Send message to WebSocket
        await self.send(text_data=json.dumps({"message": message}))
"""

ROUTING = """\
# chat/routing.py
from django.urls import re_path

from . import consumers

websocket_urlpatterns = [
    re_path(r"ws/chat/(?P<room_name>\\w+)/$", consumers.ChatConsumer.as_asgi()),
]
"""

CHAT_CONSUMERS = {
    "part 2, WebsocketConsumer": PART_2_SYNC_CHAT_CONSUMER,
    "part 3, AsyncWebsocketConsumer": PART_3_ASYNC_CHAT_CONSUMER,
}

# --- The port -----------------------------------------------------------------------------

_IMPORT_OF_CHANNELS = re.compile(r"^(from|import) channels\.", re.MULTILINE)


def port(source: str) -> str:
    """The migration guide's one step: ``channels.`` becomes ``callboard.`` in imports."""
    return _IMPORT_OF_CHANNELS.sub(r"\1 callboard.", source)


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
