"""Checking ``as_asgi(**initkwargs)`` when the routing module is imported, not at first connect.

Not here: building the application (``AsyncConsumer.as_asgi`` in ``_base``).
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from callboard.actors import OverflowPolicy

if TYPE_CHECKING:
    from ._base import AsyncConsumer

__all__ = ["check_initkwargs", "check_mailbox_options"]

_RUNTIME_STATE = frozenset({"address", "mailbox"})
"""Public-looking attributes the runtime sets itself: never ``as_asgi()`` keywords."""


def check_initkwargs(cls: type[AsyncConsumer], initkwargs: dict[str, Any]) -> None:
    """Check ``as_asgi()``'s keywords against the class (and a user-defined ``__init__``).

    Raises:
        TypeError: a keyword the class does not accept, naming the valid ones.
    """
    named: set[str] = set()
    init = cls.__init__
    if not getattr(init, "_callboard_base_init", False):  # a user-defined __init__
        signature = inspect.signature(init)
        try:
            signature.bind(None, **initkwargs)
        except TypeError as exc:
            raise TypeError(f"{cls.__qualname__}.as_asgi(): {exc}") from None
        parameters = signature.parameters.values()
        if any(p.kind is p.VAR_KEYWORD for p in parameters):
            # An ``__init__(self, *args, **kwargs)`` may consume any keyword
            # (Channels ports do ``kwargs.pop(...)``): nothing to check here.
            return
        named = {p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    for key in initkwargs:
        if key in named:
            continue
        if key.startswith("_") or key in _RUNTIME_STATE or not hasattr(cls, key):
            public = sorted(
                name
                for name in dir(cls)
                if not name.startswith("_")
                and name not in _RUNTIME_STATE
                and not callable(getattr(cls, name, None))
            )
            raise TypeError(
                f"{cls.__qualname__}.as_asgi() got an unexpected keyword {key!r}: "
                f"{cls.__qualname__} has no such attribute. "
                f"Attributes you can set: {', '.join(public) or '(none)'}."
            )
        if callable(getattr(cls, key)):
            raise TypeError(
                f"{cls.__qualname__}.as_asgi() got {key!r}, which is a method; "
                "only data attributes can be set this way."
            )


def check_mailbox_options(cls: type[AsyncConsumer], initkwargs: dict[str, Any]) -> None:
    """Check the mailbox options a consumer class (or ``as_asgi()``) sets.

    Raises:
        ValueError: an invalid ``mailbox_capacity`` or ``overflow_policy``.
    """
    capacity = initkwargs.get("mailbox_capacity", cls.mailbox_capacity)
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
        raise ValueError(
            f"{cls.__qualname__}.mailbox_capacity must be a positive int, got {capacity!r}."
        )
    try:
        OverflowPolicy.coerce(initkwargs.get("overflow_policy", cls.overflow_policy))
    except ValueError as exc:
        raise ValueError(f"{cls.__qualname__}.overflow_policy: {exc}") from None
