"""The chat example served by a real process to real HTTP and WebSocket clients.

Logged-in users post, everyone in the room receives each message with its
author, newcomers get the history from the database, guests read but cannot
post, and everyone's "who is here" list follows joins and leaves. Served by
``manage.py runserver`` (the package's site), by ``callboard serve``, and by
two ``callboard serve`` processes sharing Redis.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio
from _redis_service import RedisServer
from e2e._clients import close_code
from trio_websocket import ConnectionRejected

from ._clients import log_in, open_chat
from ._site import PASSWORD, SiteProcess, prepare_site, start_site


async def test_pages_render_and_the_index_sends_a_room_name_to_its_room(
    chat_site: SiteProcess,
) -> None:
    async with httpx.AsyncClient(base_url=chat_site.url) as client:
        assert (await client.get("/")).headers["location"] == "/chat/"
        index = await client.get("/chat/")
        room = await client.get("/chat/lobby/")
        go = await client.get("/chat/", params={"room": "lobby"})
        wrong = await client.get("/chat/", params={"room": "no spaces"})
        stylesheet = await client.get("/static/chat/chat.css")
        login = await client.get("/accounts/login/")
        admin = await client.get("/admin/login/")

    assert index.status_code == 200
    assert "Pick a room" in index.text
    assert room.status_code == 200
    assert 'id="chat-log"' in room.text
    assert "Log in</a> to post messages" in room.text
    assert go.status_code == 302
    assert go.headers["location"] == "/chat/lobby/"
    assert wrong.status_code == 400
    assert "A room name is 1 to 50 letters" in wrong.text
    assert stylesheet.status_code == 200
    assert login.status_code == 200
    assert admin.status_code == 200


async def test_a_message_reaches_everyone_in_the_room_with_its_author(
    chat_site: SiteProcess, room: str
) -> None:
    alice = await log_in(chat_site.url, "alice", PASSWORD)
    bob = await log_in(chat_site.url, "bob", PASSWORD)
    async with (
        open_chat(chat_site.url, room, cookie=alice) as at_alice,
        open_chat(chat_site.url, room, cookie=bob) as at_bob,
        open_chat(chat_site.url, f"{room}-elsewhere", cookie=bob) as elsewhere,
    ):
        await at_alice.presence_becomes(["alice", "bob"])
        await at_alice.post("  hello, bob  ")

        for client in (at_alice, at_bob):
            message = (await client.next("message"))["message"]
            assert message["author"] == "alice"
            assert message["text"] == "hello, bob"
        await elsewhere.post("only here")
        assert (await elsewhere.next("message"))["message"]["text"] == "only here"
        await at_bob.post("hi alice")
        assert (await at_alice.next("message"))["message"]["text"] == "hi alice"


async def test_a_newcomer_gets_the_room_history_from_the_database(
    chat_site: SiteProcess, room: str
) -> None:
    alice = await log_in(chat_site.url, "alice", PASSWORD)
    async with open_chat(chat_site.url, room, cookie=alice) as at_alice:
        assert (await at_alice.next("history"))["messages"] == []
        for text in ("first", "second"):
            await at_alice.post(text)
            await at_alice.next("message")

    async with open_chat(chat_site.url, room) as guest:
        history = (await guest.next("history"))["messages"]

    assert [(m["author"], m["text"]) for m in history] == [("alice", "first"), ("alice", "second")]


async def test_guests_read_and_are_listed_but_cannot_post(
    chat_site: SiteProcess, room: str
) -> None:
    carol = await log_in(chat_site.url, "carol", PASSWORD)
    async with (
        open_chat(chat_site.url, room, cookie=carol) as at_carol,
        open_chat(chat_site.url, room) as guest,
    ):
        await at_carol.presence_becomes(["carol", "guest"])
        await guest.post("let me in")
        assert (await guest.next("error"))["error"] == "Log in to post messages."
        await at_carol.post("x" * 2001)
        assert "at most 2000 characters" in (await at_carol.next("error"))["error"]
        await at_carol.post("   ")
        assert (await at_carol.next("error"))["error"] == "A message needs some text."


async def test_who_is_here_follows_joins_and_leaves(chat_site: SiteProcess, room: str) -> None:
    alice = await log_in(chat_site.url, "alice", PASSWORD)
    bob = await log_in(chat_site.url, "bob", PASSWORD)
    async with open_chat(chat_site.url, room, cookie=alice) as at_alice:
        await at_alice.presence_becomes(["alice"])
        async with open_chat(chat_site.url, room, cookie=bob):
            await at_alice.presence_becomes(["alice", "bob"])
            async with open_chat(chat_site.url, room, cookie=bob):
                await at_alice.presence_becomes(["alice", "bob"])  # once, with two tabs
        await at_alice.presence_becomes(["alice"])


async def test_a_page_of_another_site_cannot_connect(chat_site: SiteProcess, room: str) -> None:
    with pytest.raises(ConnectionRejected) as rejected:
        async with open_chat(chat_site.url, room, origin="http://evil.example"):
            pass  # pragma: no cover

    assert rejected.value.status_code == 403


async def test_an_unknown_room_path_is_refused_before_accept(chat_site: SiteProcess) -> None:
    with pytest.raises(ConnectionRejected) as rejected:
        async with open_chat(chat_site.url, "x" * 51):  # room names have at most 50
            pass  # pragma: no cover

    assert rejected.value.status_code == 403


async def test_callboard_serve_serves_the_site(tmp_path: Path, room: str) -> None:
    site = start_site(prepare_site(tmp_path), tmp_path / "serve.log", command="serve")
    try:
        async with httpx.AsyncClient(base_url=site.url) as client:
            assert (await client.get(f"/chat/{room}/")).status_code == 200
            assert (await client.get("/static/chat/room.js")).status_code == 200
        alice = await log_in(site.url, "alice", PASSWORD)
        async with open_chat(site.url, room, cookie=alice) as at_alice:
            await at_alice.post("served by callboard serve")
            assert (await at_alice.next("message"))["message"]["author"] == "alice"
            with trio.fail_after(10):
                await trio.to_thread.run_sync(site.stop)
            assert await close_code(at_alice.ws) == 1001
    finally:
        site.stop_cleanly()


async def test_two_processes_share_rooms_and_presence_through_redis(
    tmp_path: Path, room: str
) -> None:
    redis = RedisServer(tmp_path).start()
    sites: list[SiteProcess] = []
    try:
        env = prepare_site(tmp_path, REDIS_URL=redis.url)
        sites = [
            start_site(env, tmp_path / f"serve-{number}.log", command="serve") for number in (1, 2)
        ]
        first, second = sites
        alice = await log_in(first.url, "alice", PASSWORD)
        bob = await log_in(second.url, "bob", PASSWORD)
        async with open_chat(first.url, room, cookie=alice) as at_alice:
            await at_alice.presence_becomes(["alice"])
            async with open_chat(second.url, room, cookie=bob) as at_bob:
                await at_alice.presence_becomes(["alice", "bob"])
                await at_bob.post("across processes")
                for client in (at_alice, at_bob):
                    message = (await client.next("message"))["message"]
                    assert (message["author"], message["text"]) == ("bob", "across processes")
            await at_alice.presence_becomes(["alice"])
    finally:
        for site in sites:
            site.stop_cleanly()
        redis.kill()
