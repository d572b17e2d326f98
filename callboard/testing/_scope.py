"""Scopes for communicators: the keys a server would put there, built from a path.

Not here: running the application (``_application``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias
from urllib.parse import unquote, urlsplit

from callboard._asgi import Scope

__all__ = ["TEST_CLIENT", "TEST_SERVER", "HeaderPair", "base_scope", "build_headers"]

TEST_CLIENT = ("127.0.0.1", 0)
"""The ``scope["client"]`` address a communicator reports (Django's test client's)."""

TEST_SERVER = ("testserver", 80)
"""The ``scope["server"]`` address a communicator reports (Django's test host)."""

HeaderPair: TypeAlias = tuple[bytes | str, bytes | str]
"""One header as a test may give it; sent to the application as bytes."""


def build_headers(headers: Iterable[HeaderPair] | None) -> list[tuple[bytes, bytes]]:
    """Return *headers* as ASGI wants them: a list of ``(name, value)`` byte pairs.

    ``str`` names and values are encoded as Latin-1; nothing else is changed.

    Raises:
        TypeError: a header is not a pair of ``bytes`` or ``str``.
    """
    pairs: list[tuple[bytes, bytes]] = []
    for header in headers or ():
        try:
            name, value = header
        except (TypeError, ValueError):
            raise TypeError(f"A header must be a (name, value) pair; got {header!r}.") from None
        pairs.append((_as_bytes(name, header), _as_bytes(value, header)))
    return pairs


def _as_bytes(part: object, header: object) -> bytes:
    if isinstance(part, bytes):
        return part
    if isinstance(part, str):
        return part.encode("latin-1")
    raise TypeError(f"Header names and values are bytes or str; got {header!r}.")


def base_scope(kind: str, path: str, headers: Iterable[HeaderPair] | None) -> Scope:
    """Return the scope keys HTTP and WebSocket communicators share, for *path*.

    Raises:
        TypeError: *path* is not a ``str``.
    """
    if not isinstance(path, str):
        raise TypeError(f"Expected str, got {type(path)}")
    parsed = urlsplit(path)
    return {
        "type": kind,
        "path": unquote(parsed.path),
        "raw_path": parsed.path.encode("utf-8"),
        "query_string": parsed.query.encode("utf-8"),
        "headers": build_headers(headers),
        "client": TEST_CLIENT,
        "server": TEST_SERVER,
    }
