"""Security with Django, over real sockets: origins from ALLOWED_HOSTS, login, sessions, errors.

The sample project (``tests/django_project``) is served by ``python -m
callboard serve`` in a process of its own, with ``DEBUG`` off as in
production, on a SQLite file of the test's own. Its WebSocket routes sit
behind ``AllowedHostsOriginValidator(AuthMiddlewareStack(...))``; the private
route refuses anonymous users in ``connect``. Each test starts its own
server; the database is migrated once per test in a few hundred
milliseconds.

Not here: the same pieces through communicators (``tests/django_bridge``).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import httpx
import pytest
import trio
from e2e._process import PYTHON, REPOSITORY, ServerProcess, open_server_process

from ._rawws import Closed, Refused, open_raw_websocket

SECRET_KEY = "callboard-tests-only"
"""The sample project's SECRET_KEY: it must never reach a client."""
ORIGIN = ("Origin", "http://127.0.0.1")
TIMEOUT = 20.0

_PREPARE = """
import django
django.setup()
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
user = get_user_model().objects.create_user(username="ann", password="pw")
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.save()
print(session.session_key)
"""


@attrs.frozen
class Site:
    """The served project, and the session key of its one user, ``ann``."""

    server: ServerProcess
    session_key: str

    @property
    def port(self) -> int:
        return int(self.server.url.rsplit(":", 1)[1])


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    """The sample project, migrated, with one logged-in session, served in its own process."""
    env = {
        "DJANGO_SETTINGS_MODULE": "django_project.settings",
        "CALLBOARD_TEST_SQLITE": str(tmp_path / "db.sqlite3"),
        "PYTHONPATH": os.pathsep.join([str(REPOSITORY / "tests"), str(REPOSITORY)]),
        "CALLBOARD_TEST_DEBUG": "0",
    }
    prepared = await trio.run_process(
        [PYTHON, "-c", _PREPARE],
        capture_stdout=True,
        capture_stderr=True,
        env={**os.environ, **env},
        cwd=REPOSITORY,
    )
    session_key = prepared.stdout.decode().strip().splitlines()[-1]
    command = [PYTHON, "-m", "callboard", "serve", "django_project.asgi:application"]
    async with open_server_process([*command, "--bind", "127.0.0.1:0"], env=env) as server:
        yield Site(server, session_key)
        assert "Error in ASGI Framework" not in server.output  # every error was callboard's


async def _handshake(
    site: Site, path: str, headers: list[tuple[str, str]]
) -> tuple[int, str | None]:
    """The handshake's status, and the first message when accepted."""
    try:
        async with open_raw_websocket("127.0.0.1", site.port, path, headers=headers) as ws:
            message = await ws.receive_message()
            assert isinstance(message, str)
            return 101, message
    except Refused as refused:
        assert b"Traceback" not in refused.head
        assert SECRET_KEY.encode() not in refused.head
        return refused.status, None


ORIGINS = [
    (None, 403, "no Origin header"),
    ("http://127.0.0.1", 101, "an allowed host"),
    ("http://127.0.0.1:9999", 101, "a host pattern allows any port"),
    ("https://localhost", 101, "and any scheme"),
    ("http://example.com", 101, "ALLOWED_HOSTS has example.com"),
    ("http://www.example.com", 403, "no leading dot: no subdomains"),
    ("http://example.com.attacker.test", 403, "a longer domain"),
    ("http://127.0.0.2", 403, "another address"),
    ("null", 403, "an opaque origin"),
]


async def test_allowed_hosts_decide_each_origin_before_accept(site: Site) -> None:
    with trio.fail_after(TIMEOUT):
        for origin, status, why in ORIGINS:  # one server for the table: each starts in ~1 s
            headers = [] if origin is None else [("Origin", origin)]
            answer = await _handshake(site, "/ws/whoami/", headers)
            assert answer == ((101, '{"user": null}') if status == 101 else (403, None)), why


def _tampered(key: str) -> str:
    last = "a" if key[-1] != "a" else "b"
    return key[:-1] + last


async def test_login_is_checked_before_accept_and_a_tampered_session_cookie_is_anonymous(
    site: Site,
) -> None:
    def cookie(value: str) -> list[tuple[str, str]]:
        return [ORIGIN, ("Cookie", f"sessionid={value}")]

    with trio.fail_after(TIMEOUT):
        assert await _handshake(site, "/ws/whoami/private/", cookie(site.session_key)) == (
            101,
            '{"user": "ann"}',
        )
        assert await _handshake(site, "/ws/whoami/private/", [ORIGIN]) == (403, None)
        for value in [_tampered(site.session_key), "x" * 32, "", "../../etc/passwd", "a;b"]:
            assert await _handshake(site, "/ws/whoami/private/", cookie(value)) == (403, None)
            assert await _handshake(site, "/ws/whoami/", cookie(value)) == (101, '{"user": null}')


async def test_no_traceback_setting_or_secret_reaches_a_client_of_the_django_project(
    site: Site,
) -> None:
    with trio.fail_after(TIMEOUT):
        async with httpx.AsyncClient(base_url=site.server.url) as client:
            crashed = await client.get("/boom/")
            missing = await client.get("/nowhere/")
            bad_host = await client.get("/plain/", headers={"Host": "attacker.test"})
        async with open_raw_websocket(
            "127.0.0.1", site.port, "/ws/whoami/", headers=[ORIGIN]
        ) as ws:
            assert json.loads(await ws.receive_message()) == {"user": None}
            await ws.send_text("{}")  # KeyError: 'op' in its receive_json
            with pytest.raises(Closed) as closed:
                await ws.receive_message()
    assert (closed.value.code, closed.value.reason) == (1011, "")
    assert (crashed.status_code, missing.status_code, bad_host.status_code) == (500, 404, 400)
    for response in (crashed, missing, bad_host):
        text = response.text + str(response.headers)
        for leak in (SECRET_KEY, "Traceback", "RuntimeError", "SECRET_KEY", "django_project"):
            assert leak not in text, (response.status_code, leak)
    assert "KeyError: 'op'" in site.server.output  # the operator's log has the traceback
