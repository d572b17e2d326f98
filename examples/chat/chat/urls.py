"""The chat's pages: the room index and a room."""

from django.urls import path

from . import converters, views  # noqa: F401 - converters registers <room:...>

urlpatterns = [
    path("", views.index, name="index"),
    path("<room:room_name>/", views.room, name="room"),
]
