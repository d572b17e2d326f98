"""URLRouter: dispatch by path with Django's ``path()`` / ``re_path()`` patterns.

The table is compiled once, when the router is built: entries are checked,
nested routers become prefixes, and the text listing every known pattern is
prepared for the message an unmatched path gets. Resolving a path is pure
(:meth:`URLRouter.resolve`): nested :class:`URLRouter` instances are walked
in place, so a nested router that does not match lets the outer one try its
next entry, and the application at the end is called once, with one new
scope.

Not here: dispatch by scope type (``_protocol``) or channel name
(``_channel_name``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Final

import attrs
from django.urls import URLPattern, URLResolver
from django.urls.resolvers import RegexPattern, RoutePattern

from callboard._asgi import ASGIApp, Receive, Scope, Send

from ._errors import NoRouteError, RoutingConfigError, describe_known
from ._target import require_application

__all__ = ["RouteMatch", "URLRouter"]

logger = logging.getLogger("callboard.routing")

_PROTOCOL_LABELS: Final = {"websocket": "WebSocket", "http": "HTTP"}

_NOT_FOUND_BODY: Final = b"Not Found"


@attrs.frozen(kw_only=True)
class RouteMatch:
    """What :meth:`URLRouter.resolve` found for a path.

    Attributes:
        application: the ASGI application the path routes to.
        args: positional captures (unnamed ``re_path`` groups), outermost first.
        kwargs: named captures, converted, with each level's ``kwargs=``
            defaults; inner levels override outer ones.
        path_remaining: what the last pattern left unmatched (``""`` for a
            ``path()`` endpoint); the application sees it as
            ``scope["path_remaining"]``.
        pattern: the full pattern that matched, nested prefixes included,
            e.g. ``"ws/chat/<slug:room>/"``.
    """

    application: ASGIApp
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    path_remaining: str
    pattern: str


@attrs.frozen(kw_only=True)
class _Route:
    """One compiled entry: a pattern and either an application or a nested router."""

    pattern: Any  # a django.urls RoutePattern or RegexPattern
    text: str
    default_kwargs: dict[str, Any]
    application: ASGIApp
    router: URLRouter | None  # walked in place by resolve()
    opaque_prefix: bool  # routes by path itself, but is not a URLRouter we can walk


class URLRouter:
    """Route connections to applications by path, with Django's URL patterns.

    Entries are ``path()`` and ``re_path()`` results whose view is an ASGI
    application (``Consumer.as_asgi()``), a nested ``URLRouter`` (``path("ws/",
    URLRouter([...]))``), or ``include([...])`` of such entries. The path
    matched is ``scope["path_remaining"]`` when an outer router set it, else
    ``scope["path"]`` with ``scope["root_path"]`` removed; leading slashes
    are ignored, as in Django. Converters (``<int:pk>``, ``<slug:room>``,
    your ``register_converter()`` ones) and ``kwargs=`` defaults work as in
    Django.

    The application gets a copy of the scope with ``url_route`` (``{"args":
    ..., "kwargs": ...}``, merged with the ``url_route`` an outer router set)
    and ``path_remaining``.

    A path nothing matches is refused without an exception: a WebSocket
    gets ``websocket.close`` before accept (the server answers HTTP 403), an
    HTTP request a plain 404, and one WARNING record names the path and the
    known patterns. Other scope types get :class:`NoRouteError`.

    Attributes:
        routes: the entries, as given.

    Args:
        routes: ``path()`` / ``re_path()`` / ``include()`` entries, tried in order.

    Raises:
        RoutingConfigError: an entry is not a ``path()`` / ``re_path()`` /
            ``include()`` result, routes to a consumer class instead of
            ``Consumer.as_asgi()`` or to something not callable, or uses a
            pattern other than ``path()``'s or ``re_path()``'s
            (``i18n_patterns``).
    """

    #: Channels' marker: applications carrying it route by
    #: ``scope["path_remaining"]`` themselves, so a ``path()`` pointing at
    #: one is a prefix rather than an endpoint. Middleware wrapping a router
    #: may set it too.
    _path_routing = True

    def __init__(self, routes: Iterable[URLPattern | URLResolver]) -> None:
        self.routes = tuple(routes)
        self._routes = tuple(_compile(entry, index) for index, entry in enumerate(self.routes))
        self._pattern_texts = tuple(
            text for route in self._routes for text in _pattern_texts(route)
        )
        self._known = describe_known(self._pattern_texts)

    def resolve(self, path: str) -> RouteMatch | None:
        """Find the application for ``path``, walking nested routers.

        Args:
            path: a path relative to this router (``scope["path_remaining"]``,
                or the path below ``root_path``); leading slashes are ignored.

        Returns:
            The first match in table order, or ``None``. A nested router that
            matches the prefix but nothing below it does not stop the search.
        """
        return self._resolve(path, (), {}, "")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one connection with the application its path routes to.

        Args:
            scope: a scope with a ``path`` (``http``, ``websocket``, ...).
            receive: the server's ``receive``.
            send: the server's ``send``.

        Raises:
            RoutingConfigError: the scope has no ``path`` (the router is
                mounted under a scope type without paths).
            NoRouteError: nothing matches, on a scope that is neither
                ``websocket`` nor ``http``.
        """
        path = self._routing_path(scope)
        match = self.resolve(path) if path is not None else None
        if match is None:
            await self._unmatched(scope, receive, send, path)
            return
        outer = scope.get("url_route") or {}
        await match.application(
            {
                **scope,
                "path_remaining": match.path_remaining,
                "url_route": {
                    "args": (*outer.get("args", ()), *match.args),
                    "kwargs": {**outer.get("kwargs", {}), **match.kwargs},
                },
            },
            receive,
            send,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self._pattern_texts)!r})"

    def _resolve(
        self, path: str, args: tuple[Any, ...], kwargs: dict[str, Any], prefix: str
    ) -> RouteMatch | None:
        path = path.lstrip("/")
        for route in self._routes:
            found = route.pattern.match(path)
            if not found:
                continue
            rest, new_args, new_kwargs = found
            all_args = (*args, *new_args)
            all_kwargs = {**kwargs, **new_kwargs, **route.default_kwargs}
            text = _join(prefix, route.text)
            if route.router is None:
                return RouteMatch(
                    application=route.application,
                    args=all_args,
                    kwargs=all_kwargs,
                    path_remaining=rest,
                    pattern=text,
                )
            inner = route.router._resolve(rest, all_args, all_kwargs, text)
            if inner is not None:
                return inner
        return None

    def _routing_path(self, scope: Scope) -> str | None:
        """The path to match, or ``None`` when it lies outside ``root_path``."""
        if "path_remaining" in scope:
            remaining: str = scope["path_remaining"]
            return remaining
        if "path" not in scope:
            raise RoutingConfigError(
                "URLRouter",
                f"got a {scope.get('type')!r} scope without a 'path', so it cannot "
                "route it. Mount it under the 'websocket' or 'http' entry of a "
                "ProtocolTypeRouter.",
            )
        path: str = scope["path"]
        root_path: str = scope.get("root_path") or ""
        if not root_path:
            return path
        if not path.startswith(root_path):
            return None
        below = path[len(root_path) :]
        if below and not root_path.endswith("/") and not below.startswith("/"):
            return None  # "/app" is not the root of "/apple/"
        return below

    async def _unmatched(
        self, scope: Scope, receive: Receive, send: Send, path: str | None
    ) -> None:
        """Refuse a connection nothing matches: close, 404, or raise."""
        scope_type = scope.get("type")
        label = _PROTOCOL_LABELS.get(scope_type) if isinstance(scope_type, str) else None
        if path is None:
            shown = scope["path"]
            hint = (
                f"It is outside root_path {scope.get('root_path')!r}; check the "
                "server's root_path setting."
            )
        else:
            shown = path.lstrip("/")
            hint = self._hint(shown)
        if label is None:
            raise NoRouteError("path", shown, self._pattern_texts, hint, known_as="patterns")
        logger.warning(
            "No %s route matches %r. Known patterns: %s. %s", label, shown, self._known, hint
        )
        if scope_type == "websocket":
            event = await receive()
            if event["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": 1000})
        else:
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(_NOT_FOUND_BODY)).encode("ascii")),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": _NOT_FOUND_BODY})

    def _hint(self, path: str) -> str:
        if not path.endswith("/") and self.resolve(path + "/") is not None:
            return "Add the trailing slash or a path() entry."
        return "Add a path() or re_path() entry for it."


def _compile(entry: object, index: int) -> _Route:
    """Check one table entry and turn it into a :class:`_Route`."""
    if isinstance(entry, URLResolver):
        _require_supported_pattern(entry.pattern, f"URLRouter entry {index} (include())")
        nested = URLRouter(entry.url_patterns)
        return _Route(
            pattern=entry.pattern,  # include() patterns are prefixes already
            text=str(entry.pattern),
            default_kwargs=dict(entry.default_kwargs),
            application=nested,
            router=nested,
            opaque_prefix=False,
        )
    if isinstance(entry, URLPattern):
        pattern = entry.pattern
        _require_supported_pattern(pattern, f"URLRouter entry {index}")
        where = f"URLRouter route {str(pattern)!r}"
        application = entry.callback
        require_application(application, where)
        routes_by_path = getattr(application, "_path_routing", False) is True
        if routes_by_path:
            # path() makes every pattern an endpoint (anchored at the end);
            # in front of a router it must be a prefix, as include()'s are.
            pattern = type(pattern)(str(pattern), pattern.name, is_endpoint=False)
        nested_router = application if isinstance(application, URLRouter) else None
        return _Route(
            pattern=pattern,
            text=str(pattern),
            default_kwargs=dict(entry.default_args),
            application=application,
            router=nested_router,
            opaque_prefix=routes_by_path and nested_router is None,
        )
    raise RoutingConfigError(
        f"URLRouter entry {index}",
        f"got {entry!r}; entries must come from django.urls path(), re_path() or include().",
    )


def _require_supported_pattern(pattern: object, where: str) -> None:
    """Refuse patterns other than path()'s and re_path()'s, before anything reads them."""
    if not isinstance(pattern, (RoutePattern, RegexPattern)):
        raise RoutingConfigError(
            where,
            f"{type(pattern).__name__} patterns are not supported (i18n_patterns() "
            "prefixes depend on a request's language). Use path() or re_path().",
        )


def _pattern_texts(route: _Route) -> list[str]:
    """The full pattern texts one compiled entry stands for, for messages."""
    if route.router is not None:
        return [_join(route.text, inner) for inner in route.router._pattern_texts]
    if route.opaque_prefix:
        return [f"{route.text}..."]
    return [route.text]


def _join(prefix: str, text: str) -> str:
    """Concatenate pattern texts, dropping an inner regex's redundant ``^``."""
    if prefix and text.startswith("^"):
        text = text[1:]
    return prefix + text
