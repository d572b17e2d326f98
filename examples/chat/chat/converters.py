"""The ``<room:...>`` path converter, shared by the HTTP URLs and the WebSocket routes.

A room name becomes part of a channel-layer group name (``chat_<room>``), which
allows ASCII letters, digits, ``-``, ``_`` and ``.`` and fewer than 100
characters: a room name is 1 to 50 letters, digits, ``-`` or ``_``.
"""

import re

from django.urls import register_converter

ROOM_NAME = re.compile(r"[-a-zA-Z0-9_]{1,50}")
"""What a room name may be."""


class RoomNameConverter:
    regex = ROOM_NAME.pattern

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(RoomNameConverter, "room")
