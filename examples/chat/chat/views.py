"""The chat's pages. Ordinary synchronous Django views: callboard serves them
from worker threads, under Trio, next to the WebSockets."""

from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from .converters import ROOM_NAME
from .models import Message

ROOMS_LISTED = 20
"""How many rooms the index lists, most recently active first."""


def index(request: HttpRequest) -> HttpResponse:
    """The rooms with messages, and a form to enter any room (``?room=name``)."""
    error = None
    wanted = request.GET.get("room")
    if wanted is not None:
        wanted = wanted.strip()
        if ROOM_NAME.fullmatch(wanted):
            return redirect("room", room_name=wanted)
        error = "A room name is 1 to 50 letters, digits, hyphens or underscores."
    rooms = (
        Message.objects.values("room")
        .annotate(messages=Count("id"), last_message=Max("created"))
        .order_by("-last_message")[:ROOMS_LISTED]
    )
    return render(
        request,
        "chat/index.html",
        {"rooms": rooms, "error": error, "wanted": wanted or ""},
        status=400 if error else 200,
    )


def room(request: HttpRequest, room_name: str) -> HttpResponse:
    """A room: its log (history arrives over the WebSocket), who is here, the input box."""
    return render(request, "chat/room.html", {"room_name": room_name})
