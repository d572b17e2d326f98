"""Channels' ``channels.generic`` import paths, kept so a port only renames the package.

The classes live in :mod:`callboard.consumers`; ``callboard.generic.websocket``
and ``callboard.generic.http`` re-export them under Channels' module names.
"""

__all__: list[str] = []
