"""Django's views under Trio: a live hypercorn-trio server, fetched with httpx."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import AsyncIterator
from contextlib import aclosing

import anyio
import httpx
import pytest

from callboard.testing import LiveServer, open_live_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def server() -> AsyncIterator[LiveServer]:
    """The sample project's application on a free port."""
    from django_project.asgi import application

    async with open_live_server(application) as live:
        yield live


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        yield http


async def test_a_sync_view_and_async_middleware(client: httpx.AsyncClient) -> None:
    response = await client.get("/plain/")

    assert response.status_code == 200
    assert response.text == "plain"
    assert response.headers["x-stamp"] == "async"


async def test_an_async_view_using_the_async_orm(client: httpx.AsyncClient) -> None:
    response = await client.get("/async/")

    assert response.json() == {"view": "async", "count": 0}


async def test_a_view_using_the_orm(client: httpx.AsyncClient) -> None:
    first = (await client.get("/orm/", params={"text": "a"})).json()
    second = (await client.get("/orm/", params={"text": "b"})).json()

    assert (first["count"], second["count"]) == (1, 2)


async def test_a_large_body_is_streamed_to_the_view(client: httpx.AsyncClient) -> None:
    body = os.urandom(1_500_000)

    response = await client.post("/echo/", content=body)

    assert response.json() == {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()}


async def test_a_multipart_upload_larger_than_memory_uploads(client: httpx.AsyncClient) -> None:
    data = os.urandom(3_000_000)  # above FILE_UPLOAD_MAX_MEMORY_SIZE: a temporary file

    response = await client.post("/upload/", files={"file": ("big.bin", data)})

    assert response.json() == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


async def test_a_sync_streaming_response_streams(client: httpx.AsyncClient) -> None:
    from django_project import views

    views.STREAM_RELEASE.clear()
    async with (
        client.stream("GET", "/stream/") as response,
        aclosing(response.aiter_raw()) as chunks,
    ):
        first = await chunks.__anext__()
        assert first == b"first;"  # before the view's generator may go on
        views.STREAM_RELEASE.set()
        rest = b"".join([chunk async for chunk in chunks])
    assert rest == b"second;third"


async def test_an_async_streaming_response(client: httpx.AsyncClient) -> None:
    response = await client.get("/astream/")

    assert response.text == "part0;part1;part2;"


async def test_a_file_response(client: httpx.AsyncClient) -> None:
    response = await client.get("/file/")

    assert response.content == b"hello static\n"
    assert response.headers["content-length"] == "13"
    assert response.headers["content-type"].startswith("text/plain")


async def test_a_client_that_disconnects_stops_a_stream(server: LiveServer) -> None:
    from django_project import views

    views.FOREVER_CLOSED.clear()
    async with await anyio.connect_tcp(server.host, server.port) as stream:
        await stream.send(b"GET /forever/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received = b""
        while b"tick;" not in received:
            received += await stream.receive()
    with anyio.fail_after(5):
        await anyio.to_thread.run_sync(views.FOREVER_CLOSED.wait)


async def test_is_secure_follows_the_proxy_header(client: httpx.AsyncClient) -> None:
    plain = (await client.get("/secure/")).json()
    proxied = (await client.get("/secure/", headers={"X-Forwarded-Proto": "https"})).json()

    assert plain == {"secure": False, "scheme": "http"}
    assert proxied == {"secure": True, "scheme": "https"}


async def test_sessions_keep_state_between_requests(client: httpx.AsyncClient) -> None:
    await client.get("/session/set/", params={"color": "teal"})

    assert (await client.get("/session/get/")).json() == {"color": "teal"}


async def test_errors_are_django_responses(client: httpx.AsyncClient) -> None:
    assert (await client.get("/missing/")).status_code == 404
    assert (await client.get("/boom/")).status_code == 500


async def test_a_head_request_gets_headers_only(client: httpx.AsyncClient) -> None:
    response = await client.head("/plain/")

    assert response.status_code == 200
    assert response.content == b""


async def test_the_admin_logs_in_with_csrf_and_sessions(client: httpx.AsyncClient) -> None:
    from django.contrib.auth import get_user_model

    from callboard.django_bridge import database_run_sync

    await database_run_sync(
        get_user_model().objects.create_superuser, "admin", "admin@example.com", "pw"
    )
    assert (await client.get("/admin/")).status_code == 302
    page = await client.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None

    response = await client.post(
        "/admin/login/?next=/admin/",
        data={"username": "admin", "password": "pw", "csrfmiddlewaretoken": token.group(1)},
    )

    assert response.status_code == 302
    assert "Site administration" in (await client.get("/admin/")).text
    assert (await client.get("/whoami/")).json() == {"user": "admin"}


async def test_static_files_are_served_in_development(server: LiveServer) -> None:
    from django_project.asgi import application

    from callboard.django_bridge import StaticFilesHandler

    async with (
        open_live_server(StaticFilesHandler(application)) as static_server,
        httpx.AsyncClient(base_url=static_server.url) as http,
    ):
        found = await http.get("/static/hello.txt")
        missing = await http.get("/static/nothing.txt")
        view = await http.get("/plain/")

    assert found.text == "hello static\n"
    assert missing.status_code == 404
    assert view.text == "plain"
