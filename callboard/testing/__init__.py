"""Testing helpers: communicators, the live server, and the pytest plugin's fixtures.

Communicators run an application in a task and talk to it as a server
would, with Channels' names: ``async with WebsocketCommunicator(app,
"/ws/") as comm: ...``. The live server runs hypercorn for real clients.
The fixtures (``callboard_runtime``, ``live_server``) come with the
``pytest11`` entry point; nothing to import.
"""

from ._application import TEST_EXTENSION as TEST_EXTENSION
from ._application import ApplicationCommunicator as ApplicationCommunicator
from ._http import HttpCommunicator as HttpCommunicator
from ._live_server import DEFAULT_GRACEFUL_TIMEOUT as DEFAULT_GRACEFUL_TIMEOUT
from ._live_server import LiveServer as LiveServer
from ._live_server import open_live_server as open_live_server
from ._live_server import start_live_server as start_live_server
from ._scope import TEST_CLIENT as TEST_CLIENT
from ._scope import TEST_SERVER as TEST_SERVER
from ._websocket import WebsocketCommunicator as WebsocketCommunicator

__all__ = [
    "DEFAULT_GRACEFUL_TIMEOUT",
    "TEST_CLIENT",
    "TEST_EXTENSION",
    "TEST_SERVER",
    "ApplicationCommunicator",
    "HttpCommunicator",
    "LiveServer",
    "WebsocketCommunicator",
    "open_live_server",
    "start_live_server",
]
