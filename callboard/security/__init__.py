"""Channels' import location ``channels.security``: see :mod:`callboard.security.websocket`."""

__all__: list[str] = []
