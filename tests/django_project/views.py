"""Views of every kind, for the HTTP tests."""

import hashlib
import threading
import time

import anyio.lowlevel
from django.conf import settings
from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from .notes.models import Note

STREAM_RELEASE = threading.Event()
"""The sync stream's second chunk waits for this (the test sets it after the first arrives)."""

FOREVER_CLOSED = threading.Event()
"""Set when the endless stream's generator is closed (the client went away)."""


def plain(request):
    return HttpResponse("plain", content_type="text/plain")


async def async_view(request):
    count = await Note.objects.acount()
    return JsonResponse({"view": "async", "count": count})


def orm_view(request):
    note = Note.objects.create(text=request.GET.get("text", "from a view"))
    return JsonResponse({"id": note.pk, "count": Note.objects.count()})


@csrf_exempt
def echo(request):
    body = request.body
    return JsonResponse({"size": len(body), "sha256": hashlib.sha256(body).hexdigest()})


@csrf_exempt
def upload(request):
    upload = request.FILES["file"]
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    return JsonResponse({"size": upload.size, "sha256": digest.hexdigest()})


def stream(request):
    def chunks():
        yield b"first;"
        STREAM_RELEASE.wait(10)
        yield b"second;"
        yield b"third"

    return StreamingHttpResponse(chunks(), content_type="text/plain")


def astream(request):
    async def chunks():
        for index in range(3):
            await anyio.lowlevel.checkpoint()
            yield f"part{index};"

    return StreamingHttpResponse(chunks(), content_type="text/plain")


def forever(request):
    def chunks():
        try:
            for _ in range(1000):
                yield b"tick;"
                time.sleep(0.01)
        finally:
            FOREVER_CLOSED.set()

    return StreamingHttpResponse(chunks(), content_type="text/plain")


def file_view(request):
    return FileResponse(open(settings.BASE_DIR / "static" / "hello.txt", "rb"))


def secure(request):
    return JsonResponse({"secure": request.is_secure(), "scheme": request.scheme})


def session_set(request):
    request.session["color"] = request.GET["color"]
    return HttpResponse("set")


def session_get(request):
    return JsonResponse({"color": request.session.get("color")})


def whoami(request):
    return JsonResponse({"user": request.user.username or None})


def boom(request):
    raise RuntimeError("boom")
