"""``get_asgi_application()``: the same Django views on Trio and on asyncio, and its scope rules."""

from __future__ import annotations

import pytest

from callboard.django_bridge import DjangoApplication, get_asgi_application
from callboard.testing import HttpCommunicator


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
async def test_serves_views_on_either_backend(anyio_backend: str) -> None:
    application = get_asgi_application()

    response = await HttpCommunicator(application, "GET", "/plain/").get_response(timeout=5)

    assert response["status"] == 200
    assert response["body"] == b"plain"
    assert (b"X-Stamp", b"async") in response["headers"]


async def test_posts_a_body_that_comes_in_several_messages() -> None:
    from callboard.testing import ApplicationCommunicator

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/echo/",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-length", b"6")],
    }
    async with ApplicationCommunicator(get_asgi_application(), scope) as communicator:
        await communicator.send_input({"type": "http.request", "body": b"abc", "more_body": True})
        await communicator.send_input({"type": "http.request", "body": b"def"})
        start = await communicator.receive_output(timeout=5)
        body = await communicator.receive_output(timeout=5)
    assert start["status"] == 200
    assert b'"size": 6' in body["body"]


async def test_refuses_scopes_other_than_http() -> None:
    with pytest.raises(ValueError, match="Django can only handle ASGI/HTTP connections"):
        await DjangoApplication()({"type": "websocket"}, None, None)  # type: ignore[arg-type]


async def test_answers_lifespan_itself() -> None:
    from callboard.testing import ApplicationCommunicator

    async with ApplicationCommunicator(DjangoApplication(), {"type": "lifespan"}) as communicator:
        await communicator.send_input({"type": "lifespan.startup"})
        assert await communicator.receive_output() == {"type": "lifespan.startup.complete"}
        await communicator.send_input({"type": "lifespan.shutdown"})
        assert await communicator.receive_output() == {"type": "lifespan.shutdown.complete"}


@pytest.mark.django_db(transaction=True)
async def test_djangos_async_test_client_works_under_trio() -> None:
    from django.test import AsyncClient

    response = await AsyncClient().get("/async/")

    assert response.json() == {"view": "async", "count": 0}
