"""Hypercorn's one leak the live-server tests meet: the socket it does not close when a bind fails.

``Config.create_sockets`` opens a socket, fails to bind it (the port is
busy) and lets the ``OSError`` go with the socket still open, referenced
only from the error's traceback. Under ``filterwarnings = error`` its
``ResourceWarning`` would fail whichever test the garbage collector happens
to run in; call :func:`collect_failed_bind` once the error is handled (after
the ``pytest.raises`` block, not inside it) to close it at once, quietly.
"""

from __future__ import annotations

import gc
import warnings

__all__ = ["collect_failed_bind"]


def collect_failed_bind() -> None:
    """Collect the socket a handled bind error left open, without its ``ResourceWarning``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
