"""Serving under hypercorn's Trio worker: programmatic ``serve``, the CLI, shutdown."""

from ._cli import load_application as load_application
from ._cli import main as main
from ._config import DEFAULT_MAX_MESSAGE_SIZE as DEFAULT_MAX_MESSAGE_SIZE
from ._config import ServerConfig as ServerConfig
from ._ledger import ShutdownLedger as ShutdownLedger
from ._serve import run as run
from ._serve import serve as serve
from ._serve import wait_for_signal as wait_for_signal

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "ServerConfig",
    "ShutdownLedger",
    "load_application",
    "main",
    "run",
    "serve",
    "wait_for_signal",
]
