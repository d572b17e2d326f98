"""Testing helpers: communicators, the live server, and the pytest plugin's fixtures.

Communicators run an application in a task and talk to it as a server
would, with Channels' names: ``async with WebsocketCommunicator(app,
"/ws/") as comm: ...``. The live server runs hypercorn for real clients,
in the test's Trio loop (``open_live_server``) or in a thread of its own for
synchronous tests (``LiveServerThread``); ``ChannelsLiveServerTestCase`` is
Channels' Django test case built on the latter. The fixtures
(``callboard_runtime``, ``live_server``) come with the ``pytest11`` entry
point; nothing to import.

``ChannelsLiveServerTestCase`` is imported on first use: the pytest plugin
imports this package in every test session, and the test case needs Django's
test framework, which a Trio-only test suite should not pay for.
"""

import typing

from ._application import TEST_EXTENSION as TEST_EXTENSION
from ._application import ApplicationCommunicator as ApplicationCommunicator
from ._http import HttpCommunicator as HttpCommunicator
from ._live_server import DEFAULT_GRACEFUL_TIMEOUT as DEFAULT_GRACEFUL_TIMEOUT
from ._live_server import LiveServer as LiveServer
from ._live_server import open_live_server as open_live_server
from ._live_server import start_live_server as start_live_server
from ._live_server_thread import DEFAULT_START_TIMEOUT as DEFAULT_START_TIMEOUT
from ._live_server_thread import DEFAULT_STOP_TIMEOUT as DEFAULT_STOP_TIMEOUT
from ._live_server_thread import LiveServerThread as LiveServerThread
from ._scope import TEST_CLIENT as TEST_CLIENT
from ._scope import TEST_SERVER as TEST_SERVER
from ._websocket import WebsocketCommunicator as WebsocketCommunicator

if typing.TYPE_CHECKING:
    from ._testcase import ChannelsLiveServerTestCase as ChannelsLiveServerTestCase

__all__ = [
    "DEFAULT_GRACEFUL_TIMEOUT",
    "DEFAULT_START_TIMEOUT",
    "DEFAULT_STOP_TIMEOUT",
    "TEST_CLIENT",
    "TEST_EXTENSION",
    "TEST_SERVER",
    "ApplicationCommunicator",
    "ChannelsLiveServerTestCase",
    "HttpCommunicator",
    "LiveServer",
    "LiveServerThread",
    "WebsocketCommunicator",
    "open_live_server",
    "start_live_server",
]


def __getattr__(name: str) -> typing.Any:
    """Import ``ChannelsLiveServerTestCase`` (and Django's test framework) when first asked for."""
    if name == "ChannelsLiveServerTestCase":
        from ._testcase import ChannelsLiveServerTestCase

        globals()[name] = ChannelsLiveServerTestCase
        return ChannelsLiveServerTestCase
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
