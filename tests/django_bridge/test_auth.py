"""Cookies, sessions and users for consumers: logged-in and anonymous clients, login and logout."""

from __future__ import annotations

from typing import Any

import pytest

from callboard.django_bridge import (
    AuthMiddleware,
    CookieMiddleware,
    SessionMiddlewareStack,
    UserLazyObject,
    database_run_sync,
    get_user,
)
from callboard.testing import HttpCommunicator, WebsocketCommunicator

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1")


def _make_user_and_session(username: str) -> tuple[Any, str]:
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore

    user = get_user_model().objects.create_user(username=username, password="pw")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return user, session.session_key


def _whoami(path: str = "/ws/whoami/", cookie: str | None = None) -> WebsocketCommunicator:
    from django_project.asgi import application

    headers = [ORIGIN]
    if cookie is not None:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def test_an_anonymous_client_is_anonymous() -> None:
    async with _whoami() as communicator:
        assert (await communicator.connect())[0]
        assert await communicator.receive_json_from(timeout=5) == {"user": None}


async def test_a_logged_in_client_is_its_user() -> None:
    _, key = await database_run_sync(_make_user_and_session, "ann")

    async with _whoami(cookie=key) as communicator:
        assert (await communicator.connect())[0]
        assert await communicator.receive_json_from(timeout=5) == {"user": "ann"}


async def test_a_consumer_refuses_an_anonymous_client_before_accept() -> None:
    async with _whoami("/ws/whoami/private/") as communicator:
        connected, _ = await communicator.connect()
    assert not connected


async def test_a_changed_password_invalidates_the_session() -> None:
    user, key = await database_run_sync(_make_user_and_session, "bob")

    def change_password() -> None:
        user.set_password("new")
        user.save()

    await database_run_sync(change_password)

    async with _whoami(cookie=key) as communicator:
        await communicator.connect()
        assert await communicator.receive_json_from(timeout=5) == {"user": None}


async def test_login_and_logout_from_a_consumer_are_saved_in_the_session() -> None:
    from django.contrib.auth import get_user_model

    await database_run_sync(get_user_model().objects.create_user, username="cy", password="pw")

    async with _whoami() as communicator:
        await communicator.connect()
        await communicator.receive_json_from(timeout=5)
        await communicator.send_json_to({"op": "login", "username": "cy", "password": "pw"})
        logged_in = await communicator.receive_json_from(timeout=5)
    assert logged_in["user"] == "cy"

    async with _whoami(cookie=logged_in["session"]) as communicator:
        await communicator.connect()
        assert await communicator.receive_json_from(timeout=5) == {"user": "cy"}
        await communicator.send_json_to({"op": "logout"})
        assert (await communicator.receive_json_from(timeout=5))["user"] is None

    async with _whoami(cookie=logged_in["session"]) as communicator:
        await communicator.connect()
        assert await communicator.receive_json_from(timeout=5) == {"user": None}


async def test_an_http_response_saves_a_modified_session_and_sets_its_cookie() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await database_run_sync(scope["session"].__setitem__, "seen", True)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    communicator = HttpCommunicator(SessionMiddlewareStack(app), "GET", "/")
    response = await communicator.get_response(timeout=5)

    cookies = [value for name, value in response["headers"] if name.lower() == b"set-cookie"]
    assert len(cookies) == 1
    assert cookies[0].startswith(b"sessionid=")
    assert b"HttpOnly" in cookies[0]


async def test_get_user_needs_a_session() -> None:
    with pytest.raises(ValueError, match="Cannot find session in scope"):
        await get_user({"type": "websocket"})


async def test_auth_middleware_needs_session_middleware_above_it() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        pass

    with pytest.raises(ValueError, match="SessionMiddleware must be above it"):
        await AuthMiddleware(app)({"type": "websocket"}, None, None)  # type: ignore[arg-type]


def test_reading_the_user_before_it_is_resolved_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="before it is ready"):
        UserLazyObject().is_authenticated  # noqa: B018


def test_set_cookie_and_delete_cookie_write_headers() -> None:
    message: dict[str, Any] = {"type": "http.response.start"}

    CookieMiddleware.set_cookie(message, "k", "v", max_age=10, httponly=True, samesite="strict")
    CookieMiddleware.delete_cookie(message, "gone")

    set_header, delete_header = (value for _, value in message["headers"])
    assert set_header.startswith(b"k=v;")
    assert b"Max-Age=10" in set_header
    assert b"HttpOnly" in set_header
    assert b"SameSite=strict" in set_header
    assert b"gone=" in delete_header
    assert b"01-Jan-1970" in delete_header
    with pytest.raises(ValueError, match="samesite"):
        CookieMiddleware.set_cookie(message, "k", samesite="sometimes")


async def test_cookie_middleware_parses_the_cookie_header() -> None:
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope["cookies"])

    scope = {"type": "http", "headers": [(b"cookie", b"a=1; b=two")]}
    await CookieMiddleware(app)(scope, None, None)  # type: ignore[arg-type]
    assert seen == {"a": "1", "b": "two"}
