"""ChannelsLiveServerTestCase on the sample project: WebSockets, views, static files, life cycle.

Run by Django's test runner (``python -m django test``), as a project runs
its own tests; ``test_live_server_testcase`` starts it on each database.
The clients are real: httpx, and trio-websocket in ``trio.run`` on the
test's thread while the server runs on its own. Django's runner, not
pytest, runs these, so they assert the unittest way.
"""
# ruff: noqa: PT009, PT027

import json
import socket
import threading
from urllib.parse import urlsplit

import httpx
import trio
from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import TransactionTestCase, override_settings
from django_project.notes.models import Note
from e2e._clients import close_code, open_websocket

from callboard.layers import get_channel_layer
from callboard.testing import ChannelsLiveServerTestCase

ANNOUNCEMENTS = "announcements"
"""The group of ``asgi.AnnouncementConsumer``. (Not imported from there: importing an
``asgi`` module builds its ``AllowedHostsOriginValidator``, which copies ``ALLOWED_HOSTS``
as they are then, before any test case has added its host.)"""

CLIENT_TIMEOUT = 10.0
"""Seconds a client exchange may take."""
SHARED_WORKERS = ("Trio thread ", "callboard-db-")
"""Process-wide worker threads (Trio's thread cache, the database pool): every loop reuses
them and they end after idling, so they are no server's leftovers."""


def talk(server_url, path, messages):
    """Send each message, as JSON, over one WebSocket from the site's origin; return the replies."""

    async def exchange():
        with trio.fail_after(CLIENT_TIMEOUT):
            headers = [(b"origin", server_url.encode())]
            async with open_websocket(server_url, path, extra_headers=headers) as ws:
                replies = []
                for message in messages:
                    await ws.send_message(json.dumps(message))
                    replies.append(json.loads(await ws.get_message()))
                return replies

    return trio.run(exchange)


def threads_since(before):
    """The threads started since ``before`` was taken, process-wide workers aside."""
    started = set(threading.enumerate()) - before
    return {thread for thread in started if not thread.name.startswith(SHARED_WORKERS)}


def port_of(url):
    return urlsplit(url).port


def listening(port):
    """Whether something accepts connections on the loopback ``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT):
            return True
    except ConnectionRefusedError:
        return False


class DatabaseOverWebSocketTests(ChannelsLiveServerTestCase):
    def test_a_consumer_reads_what_the_test_wrote_and_the_test_reads_what_it_wrote(self):
        Note.objects.create(text="from the test")

        replies = talk(self.live_server_url, "/ws/notes/default/database/", [{"text": "consumer"}])

        self.assertEqual(replies, [{"count": 2}])
        self.assertEqual(
            sorted(Note.objects.values_list("text", flat=True)), ["consumer", "from the test"]
        )

    def test_each_test_starts_with_empty_tables(self):
        self.assertEqual(Note.objects.count(), 0)

    def test_the_async_orm_works_in_a_consumer(self):
        replies = talk(
            self.live_server_url, "/ws/notes/default/async/", [{"text": "one"}, {"text": "two"}]
        )

        self.assertEqual([reply["texts"] for reply in replies], [["one"], ["one", "two"]])
        self.assertEqual(Note.objects.count(), 2)


@override_settings(ASGI_APPLICATION="testing.live_project.asgi.application")
class ChannelLayerTests(ChannelsLiveServerTestCase):
    def test_the_test_thread_reaches_the_server_s_consumers_through_the_channel_layer(self):
        send_to_group = async_to_sync(get_channel_layer().group_send)

        async def listen_while_the_test_sends():
            with trio.fail_after(CLIENT_TIMEOUT):
                origin = [(b"origin", self.live_server_url.encode())]
                async with open_websocket(
                    self.live_server_url, "/ws/announcements/", extra_headers=origin
                ) as ws:
                    self.assertEqual(json.loads(await ws.get_message()), {"joined": True})
                    event = {"type": "announce", "text": "from the test"}
                    await trio.to_thread.run_sync(send_to_group, ANNOUNCEMENTS, event)
                    return json.loads(await ws.get_message())

        self.assertEqual(trio.run(listen_while_the_test_sends), {"text": "from the test"})


class HttpTests(ChannelsLiveServerTestCase):
    def test_a_django_view_is_served_and_writes_to_the_test_database(self):
        response = httpx.get(f"{self.live_server_url}/orm/", params={"text": "over http"})

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["count"], 1)
        self.assertEqual(Note.objects.get().text, "over http")

    def test_static_files_are_served(self):
        response = httpx.get(f"{self.live_server_url}/static/hello.txt")

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.text, "hello static\n")

    def test_the_urls_name_the_host_and_the_port_it_listens_on(self):
        http, ws = urlsplit(self.live_server_url), urlsplit(self.live_server_ws_url)

        self.assertEqual((http.scheme, http.hostname), ("http", "localhost"))
        self.assertEqual((ws.scheme, ws.hostname), ("ws", "localhost"))
        self.assertEqual(http.port, ws.port)
        self.assertTrue(listening(http.port))

    def test_the_host_is_an_allowed_host_while_the_server_runs(self):
        self.assertIn("localhost", settings.ALLOWED_HOSTS)


class NoStaticFilesTests(ChannelsLiveServerTestCase):
    serve_static = False

    def test_static_files_are_not_served(self):
        response = httpx.get(f"{self.live_server_url}/static/hello.txt")

        self.assertEqual(response.status_code, 404)


class LifeCycleTests(TransactionTestCase):
    """Another test case's class set-up and tear-down, driven as unittest drives them."""

    def setUp(self):
        self.threads = set(threading.enumerate())
        self.allowed_hosts = list(settings.ALLOWED_HOSTS)

    def assertNothingLeftBehind(self, case):
        self.assertEqual(getattr(case, "tearDown_exceptions", []), [])
        self.assertEqual(threads_since(self.threads), set())
        self.assertEqual(settings.ALLOWED_HOSTS, self.allowed_hosts)

    def test_tear_down_stops_the_server_and_frees_its_port(self):
        class Case(ChannelsLiveServerTestCase):
            def test_nothing(self):
                pass

        Case.setUpClass()
        try:
            port = port_of(Case.live_server_url)
            self.assertTrue(listening(port))
            self.assertEqual(len(threads_since(self.threads)), 1)  # the server's
        finally:
            Case.tearDownClass()
            Case.doClassCleanups()

        self.assertFalse(listening(port))
        self.assertNothingLeftBehind(Case)

    def test_tear_down_closes_open_websockets_with_1001(self):
        class Case(ChannelsLiveServerTestCase):
            def test_nothing(self):
                pass

        def tear_down():
            Case.tearDownClass()
            Case.doClassCleanups()

        async def connect_then_tear_down():
            with trio.fail_after(CLIENT_TIMEOUT):
                origin = [(b"origin", Case.live_server_url.encode())]
                async with open_websocket(
                    Case.live_server_url, "/ws/whoami/", extra_headers=origin
                ) as ws:
                    self.assertEqual(json.loads(await ws.get_message()), {"user": None})
                    await trio.to_thread.run_sync(tear_down)
                    return await close_code(ws)

        Case.setUpClass()
        try:
            code = trio.run(connect_then_tear_down)
        finally:
            tear_down()

        self.assertEqual(code, 1001)
        self.assertNothingLeftBehind(Case)

    def test_a_failing_set_up_undoes_itself(self):
        @override_settings(ASGI_APPLICATION="nowhere.asgi.application")
        class Case(ChannelsLiveServerTestCase):
            def test_nothing(self):
                pass

        with self.assertRaisesMessage(
            ImproperlyConfigured, "Cannot import ASGI_APPLICATION module 'nowhere.asgi'"
        ):
            Case.setUpClass()
        Case.doClassCleanups()

        self.assertEqual(settings.ASGI_APPLICATION, "django_project.asgi.application")
        self.assertNothingLeftBehind(Case)

    def test_a_busy_port_is_an_oserror(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()

            class Case(ChannelsLiveServerTestCase):
                host = "127.0.0.1"
                port = busy.getsockname()[1]

                def test_nothing(self):
                    pass

            with self.assertRaisesRegex(OSError, "Address already in use"):
                Case.setUpClass()
            Case.doClassCleanups()

        self.assertNothingLeftBehind(Case)

    def test_the_urls_say_they_come_with_the_server(self):
        class Case(ChannelsLiveServerTestCase):
            def test_nothing(self):
                pass

        with self.assertRaisesMessage(RuntimeError, "Case has no live server yet"):
            Case.live_server_url  # noqa: B018
