"""Envelopes: messages as channels_redis 4.3 stores them in Redis, byte for byte.

An envelope is ``random prefix + [Fernet](msgpack(message))``: the random
bytes (12 by default) keep equal messages distinct in a sorted set, the
optional Fernet token encrypts with a key derived as channels_redis derives
it (``urlsafe_b64encode(sha256(key))``), and the routing field
``__asgi_channel__`` inside the message names the receiving channel (a str
for ``send``) or channels (a list for ``group_send``).

Not here: where envelopes are stored (``_redis_scripts``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import Callable, Sequence
from typing import Any, Final

from callboard.exceptions import InvalidChannelLayerError, InvalidMessageError

__all__ = ["ROUTING_KEY", "EnvelopeError", "Envelopes"]

ROUTING_KEY: Final = "__asgi_channel__"
"""The message field that names the receiving channel(s), as channels_redis writes it."""


class EnvelopeError(ValueError):
    """Bytes read from Redis that are not an envelope this layer can open (internal)."""


def _fernet(keys: Sequence[str | bytes]) -> Any:
    try:
        from cryptography.fernet import Fernet, MultiFernet
    except ImportError as exc:
        raise InvalidChannelLayerError(
            "symmetric_encryption_keys needs the cryptography package: "
            "`pip install cryptography` (channels_redis needs it too)."
        ) from exc
    fernets = []
    for key in keys:
        raw = key.encode("utf-8") if isinstance(key, str) else key
        fernets.append(Fernet(base64.urlsafe_b64encode(hashlib.sha256(raw).digest())))
    return MultiFernet(fernets)


def _codec(serializer_format: str) -> tuple[Callable[[Any], bytes], Callable[[bytes], Any]]:
    if serializer_format == "json":

        def dumps(message: Any) -> bytes:
            return json.dumps(message).encode("utf-8")

        return dumps, json.loads
    import msgpack

    def packb(message: Any) -> bytes:
        packed: bytes = msgpack.packb(message)
        return packed

    def unpackb(data: bytes) -> Any:
        return msgpack.unpackb(data)

    return packb, unpackb


class Envelopes:
    """Encodes messages into envelopes and opens them again.

    Args:
        serializer_format: ``"msgpack"`` or ``"json"``.
        random_prefix_length: random bytes in front of each envelope.
        symmetric_encryption_keys: Fernet keys; empty for no encryption.
        expiry: the layer's expiry; an encrypted envelope older than it plus
            10 s is refused on opening (channels_redis' rule).

    Raises:
        InvalidChannelLayerError: encryption asked for without ``cryptography``.
    """

    def __init__(
        self,
        *,
        serializer_format: str,
        random_prefix_length: int,
        symmetric_encryption_keys: Sequence[str | bytes],
        expiry: float,
    ) -> None:
        self._dumps, self._loads = _codec(serializer_format)
        self._prefix_length = random_prefix_length
        self._crypter = _fernet(symmetric_encryption_keys) if symmetric_encryption_keys else None
        self._ttl = int(expiry + 10)

    def encode(self, message: dict[str, Any]) -> bytes:
        """Return the envelope for ``message`` (a fresh random prefix each call).

        Raises:
            InvalidMessageError: a value the serializer cannot encode.
        """
        try:
            data = self._dumps(message)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidMessageError(
                message,
                f"it cannot be sent through Redis ({exc}); use only dicts, lists, str, bytes, "
                "numbers, booleans and None",
            ) from exc
        if self._crypter is not None:
            data = self._crypter.encrypt(data)
        if self._prefix_length:
            return random.randbytes(self._prefix_length) + data
        return data

    def routed(self, message: dict[str, Any], channels: str | list[str]) -> bytes:
        """Return the envelope of ``message`` addressed to ``channels`` (``__asgi_channel__``)."""
        addressed = dict(message)
        addressed[ROUTING_KEY] = channels
        return self.encode(addressed)

    def decode(self, data: bytes) -> dict[str, Any]:
        """Open an envelope.

        Raises:
            EnvelopeError: it is not one (wrong key, truncated, not a dict ...).
        """
        body = data[self._prefix_length :]
        try:
            if self._crypter is not None:
                body = self._crypter.decrypt(body, self._ttl)
            message = self._loads(body)
        except Exception as exc:
            raise EnvelopeError(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(message, dict):
            raise EnvelopeError(f"an envelope holds a dict, this holds {type(message).__name__}")
        return message


def split_routing(message: dict[str, Any]) -> list[str]:
    """Remove ``__asgi_channel__`` from a decoded message; return the channels it named."""
    routed = message.pop(ROUTING_KEY, None)
    if isinstance(routed, str):
        return [routed]
    if isinstance(routed, list):
        return [name for name in routed if isinstance(name, str)]
    return []
