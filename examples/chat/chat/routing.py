"""The chat's WebSocket routes (``chatsite.asgi`` mounts them)."""

from django.urls import path

from . import consumers, converters  # noqa: F401 - converters registers <room:...>

websocket_urlpatterns = [
    path("ws/chat/<room:room_name>/", consumers.ChatConsumer.as_asgi()),
]
