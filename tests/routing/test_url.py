"""Tests for ``callboard.routing._url``: URLRouter matching, scopes, and refusals."""

from __future__ import annotations

import logging
import types
from typing import Any

import pytest
from django.urls import include, path, re_path, register_converter
from django.urls.resolvers import LocalePrefixPattern, URLResolver

from callboard._asgi import Scope
from callboard.routing import NoRouteError, RoutingConfigError, URLRouter

from ._doubles import ChatConsumer, Endpoint, PathRoutingMiddleware, call

CONNECT = {"type": "websocket.connect"}
REQUEST = {"type": "http.request", "body": b"", "more_body": False}


class YearConverter:
    regex = "[0-9]{4}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return f"{value:04d}"


class EvenConverter:
    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        if int(value) % 2:
            raise ValueError(f"{value} is odd")
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(YearConverter, "routing_tests_year")
register_converter(EvenConverter, "routing_tests_even")


def ws(path: str, **extra: Any) -> Scope:
    return {"type": "websocket", "path": path, **extra}


def http(path: str, **extra: Any) -> Scope:
    return {"type": "http", "method": "GET", "path": path, **extra}


# -- matching -----------------------------------------------------------------


@pytest.mark.anyio
async def test_path_entry_calls_its_application_with_url_route() -> None:
    room = Endpoint()
    router = URLRouter([path("chat/<room>/", room)])

    await call(router, ws("/chat/lobby/"), CONNECT)

    assert room.scope["url_route"] == {"args": (), "kwargs": {"room": "lobby"}}
    assert room.scope["path_remaining"] == ""
    assert room.scope["path"] == "/chat/lobby/"


@pytest.mark.anyio
async def test_entries_are_tried_in_order() -> None:
    first, second = Endpoint("first"), Endpoint("second")
    router = URLRouter([path("a/<x>/", first), path("a/b/", second)])

    await call(router, ws("/a/b/"))

    assert first.scopes
    assert not second.scopes


async def test_router_leaves_the_callers_scope_unchanged() -> None:
    router = URLRouter([path("a/", Endpoint())])
    scope = ws("/a/")

    await call(router, scope)

    assert scope == ws("/a/")


def test_path_endpoint_does_not_match_a_longer_path() -> None:
    assert URLRouter([path("chat/", Endpoint())]).resolve("chat/extra") is None


def test_leading_slashes_are_ignored() -> None:
    endpoint = Endpoint()
    router = URLRouter([path("chat/", endpoint)])

    assert router.resolve("//chat/") is not None
    assert router.resolve("chat/") is not None


async def test_re_path_unnamed_groups_become_args() -> None:
    endpoint = Endpoint()
    router = URLRouter([re_path(r"^room/(\d+)/(\w+)/$", endpoint)])

    await call(router, ws("/room/12/general/"))

    assert endpoint.scope["url_route"] == {"args": ("12", "general"), "kwargs": {}}


async def test_re_path_named_groups_become_kwargs_only() -> None:
    endpoint = Endpoint()
    router = URLRouter([re_path(r"^room/(?P<pk>\d+)/(\w+)/$", endpoint)])

    await call(router, ws("/room/12/general/"))

    assert endpoint.scope["url_route"] == {"args": (), "kwargs": {"pk": "12"}}


async def test_builtin_converters_convert_captures() -> None:
    endpoint = Endpoint()
    router = URLRouter([path("item/<int:pk>/<slug:room>/", endpoint)])

    await call(router, ws("/item/42/the-lobby/"))

    assert endpoint.scope["url_route"]["kwargs"] == {"pk": 42, "room": "the-lobby"}


def test_builtin_converter_rejects_what_its_regex_does_not_match() -> None:
    router = URLRouter([path("item/<int:pk>/", Endpoint())])

    assert router.resolve("item/forty-two/") is None


async def test_registered_custom_converter_converts() -> None:
    endpoint = Endpoint()
    router = URLRouter([path("archive/<routing_tests_year:year>/", endpoint)])

    await call(router, ws("/archive/2024/"))

    assert endpoint.scope["url_route"]["kwargs"] == {"year": 2024}


def test_converter_value_error_means_no_match_and_next_entry() -> None:
    even, other = Endpoint("even"), Endpoint("other")
    router = URLRouter([path("n/<routing_tests_even:n>/", even), path("n/<int:n>/", other)])

    match = router.resolve("n/3/")

    assert match is not None
    assert match.application is other
    assert match.kwargs == {"n": 3}


async def test_kwargs_defaults_are_added_and_override_captures() -> None:
    endpoint = Endpoint()
    router = URLRouter([path("chat/<room>/", endpoint, kwargs={"mode": "ro", "room": "fixed"})])

    await call(router, ws("/chat/lobby/"))

    assert endpoint.scope["url_route"]["kwargs"] == {"mode": "ro", "room": "fixed"}


def test_resolve_reports_the_full_pattern_and_remaining_path() -> None:
    endpoint = Endpoint()
    router = URLRouter([path("ws/", URLRouter([re_path(r"^chat/(?P<room>\w+)/", endpoint)]))])

    match = router.resolve("/ws/chat/lobby/tail")

    assert match is not None
    assert match.application is endpoint
    assert match.pattern == r"ws/chat/(?P<room>\w+)/"
    assert match.path_remaining == "tail"
    assert match.kwargs == {"room": "lobby"}


def test_resolve_returns_none_when_nothing_matches() -> None:
    assert URLRouter([path("a/", Endpoint())]).resolve("b/") is None


# -- nesting ------------------------------------------------------------------


async def test_nested_router_merges_url_route_and_sets_path_remaining() -> None:
    endpoint = Endpoint()
    inner = URLRouter([re_path(r"^(\w+)/(?P<room>\w+)/", endpoint, kwargs={"inner": True})])
    router = URLRouter([path("org/<int:org>/", inner, kwargs={"outer": True})])

    await call(router, ws("/org/7/chat/lobby/rest"))

    assert endpoint.scope["url_route"] == {
        "args": (),
        "kwargs": {"org": 7, "outer": True, "room": "lobby", "inner": True},
    }
    assert endpoint.scope["path_remaining"] == "rest"


async def test_nested_router_args_are_appended_to_outer_args() -> None:
    endpoint = Endpoint()
    router = URLRouter([re_path(r"^(\d+)/", URLRouter([re_path(r"^(\d+)/$", endpoint)]))])

    await call(router, ws("/1/2/"))

    assert endpoint.scope["url_route"] == {"args": ("1", "2"), "kwargs": {}}


async def test_inner_kwargs_override_outer_kwargs() -> None:
    endpoint = Endpoint()
    inner = URLRouter([path("<name>/", endpoint)])
    router = URLRouter([path("<name>/", inner)])

    await call(router, ws("/outer/inner/"))

    assert endpoint.scope["url_route"]["kwargs"] == {"name": "inner"}


def test_path_in_front_of_a_router_is_a_prefix_not_an_endpoint() -> None:
    endpoint = Endpoint()
    router = URLRouter([path("ws/", URLRouter([path("chat/", endpoint)]))])

    assert router.resolve("ws/chat/") is not None
    assert router.resolve("ws/") is None


def test_nested_router_without_a_match_lets_the_outer_router_go_on() -> None:
    nested, fallback = Endpoint("nested"), Endpoint("fallback")
    router = URLRouter(
        [
            path("ws/", URLRouter([path("chat/", nested)])),
            path("ws/<anything>/", fallback),
        ]
    )

    match = router.resolve("ws/other/")

    assert match is not None
    assert match.application is fallback


async def test_include_of_entries_acts_as_a_nested_router() -> None:
    endpoint = Endpoint()
    router = URLRouter([path("api/<int:v>/", include([path("feed/", endpoint)]), {"x": 1})])

    await call(router, ws("/api/2/feed/"))

    assert endpoint.scope["url_route"] == {"args": (), "kwargs": {"v": 2, "x": 1}}


async def test_include_of_a_module_uses_its_urlpatterns() -> None:
    endpoint = Endpoint()
    module = types.ModuleType("chat_routing")
    module.urlpatterns = [path("<room>/", endpoint)]  # type: ignore[attr-defined]
    router = URLRouter([path("chat/", include(module))])

    await call(router, ws("/chat/lobby/"))

    assert endpoint.scope["url_route"]["kwargs"] == {"room": "lobby"}


async def test_wrapped_router_routes_path_remaining_and_merges_url_route() -> None:
    endpoint = Endpoint()
    wrapped = PathRoutingMiddleware(URLRouter([path("<room>/", endpoint)]), user="alice")
    router = URLRouter([path("chat/<int:org>/", wrapped)])

    await call(router, ws("/chat/3/lobby/"))

    assert endpoint.scope["user"] == "alice"
    assert endpoint.scope["url_route"] == {"args": (), "kwargs": {"org": 3, "room": "lobby"}}
    assert endpoint.scope["path_remaining"] == ""


async def test_wrapped_router_that_matches_nothing_refuses_the_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fallback = Endpoint("fallback")
    wrapped = PathRoutingMiddleware(URLRouter([path("lobby/", Endpoint())]))
    router = URLRouter([path("chat/", wrapped), path("chat/<path:rest>", fallback)])

    sent = await call(router, ws("/chat/elsewhere/"), CONNECT)

    assert sent == [{"type": "websocket.close", "code": 1000}]
    assert not fallback.scopes  # an opaque application cannot hand the path back
    assert caplog.messages == [
        "No WebSocket route matches 'elsewhere/'. Known patterns: 'lobby/'. "
        "Add a path() or re_path() entry for it."
    ]


# -- root_path ----------------------------------------------------------------


async def test_root_path_is_removed_before_matching() -> None:
    endpoint = Endpoint()
    router = URLRouter([path("chat/", endpoint)])

    await call(router, ws("/app/chat/", root_path="/app"))

    assert endpoint.scope["path"] == "/app/chat/"
    assert endpoint.scope["path_remaining"] == ""


async def test_root_path_with_trailing_slash_is_removed() -> None:
    endpoint = Endpoint()
    router = URLRouter([path("chat/", endpoint)])

    await call(router, ws("/app/chat/", root_path="/app/"))

    assert endpoint.scopes


async def test_path_outside_root_path_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    router = URLRouter([path("chat/", Endpoint())])

    sent = await call(router, ws("/chat/", root_path="/app"), CONNECT)

    assert sent == [{"type": "websocket.close", "code": 1000}]
    assert "It is outside root_path '/app'" in caplog.text


async def test_root_path_only_strips_whole_segments() -> None:
    endpoint = Endpoint()
    router = URLRouter([path("le/chat/", endpoint)])

    sent = await call(router, ws("/apple/chat/", root_path="/app"), CONNECT)

    assert sent == [{"type": "websocket.close", "code": 1000}]
    assert not endpoint.scopes


async def test_nested_scope_uses_path_remaining_not_root_path() -> None:
    endpoint = Endpoint()
    router = URLRouter([path("chat/", endpoint)])

    await call(router, ws("/app/x/chat/", root_path="/app", path_remaining="chat/"))

    assert endpoint.scopes


# -- refusing what nothing matches --------------------------------------------


async def test_unmatched_websocket_is_closed_before_accept_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = URLRouter([path("chat/<room>/", Endpoint())])

    with caplog.at_level(logging.WARNING, logger="callboard.routing"):
        sent = await call(router, ws("/chat/lobby"), CONNECT)

    assert sent == [{"type": "websocket.close", "code": 1000}]
    assert caplog.messages == [
        "No WebSocket route matches 'chat/lobby'. Known patterns: 'chat/<room>/'. "
        "Add the trailing slash or a path() entry."
    ]
    assert caplog.records[0].levelno == logging.WARNING
    assert caplog.records[0].exc_info is None


async def test_unmatched_message_lists_nested_patterns_in_full(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = URLRouter(
        [
            path("ws/", URLRouter([path("chat/<slug:room>/", Endpoint())])),
            re_path(r"^feed/(\d+)/$", Endpoint()),
        ]
    )

    await call(router, ws("/nowhere/"), CONNECT)

    assert caplog.messages == [
        "No WebSocket route matches 'nowhere/'. Known patterns: 'ws/chat/<slug:room>/', "
        r"'^feed/(\d+)/$'. Add a path() or re_path() entry for it."
    ]


async def test_unmatched_websocket_whose_client_left_sends_nothing() -> None:
    router = URLRouter([path("chat/", Endpoint())])

    sent = await call(router, ws("/other/"), {"type": "websocket.disconnect", "code": 1006})

    assert sent == []


async def test_unmatched_http_request_gets_a_plain_404(caplog: pytest.LogCaptureFixture) -> None:
    router = URLRouter([path("feed/", Endpoint())])

    sent = await call(router, http("/missing/"), REQUEST)

    assert sent == [
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", b"9"),
            ],
        },
        {"type": "http.response.body", "body": b"Not Found"},
    ]
    assert caplog.messages == [
        "No HTTP route matches 'missing/'. Known patterns: 'feed/'. "
        "Add a path() or re_path() entry for it."
    ]


async def test_unmatched_path_on_another_scope_type_raises() -> None:
    router = URLRouter([path("feed/", Endpoint())])

    with pytest.raises(
        NoRouteError,
        match=r"^No application configured for path 'x/'\. Known patterns: 'feed/'\.",
    ):
        await call(router, {"type": "custom", "path": "/x/"})


async def test_scope_without_path_is_a_mounting_error() -> None:
    router = URLRouter([path("feed/", Endpoint())])

    with pytest.raises(RoutingConfigError, match=r"got a 'lifespan' scope without a 'path'"):
        await call(router, {"type": "lifespan"})


async def test_unmatched_message_shows_a_wrapped_router_as_a_prefix(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = URLRouter([path("chat/", PathRoutingMiddleware(URLRouter([])))])

    await call(router, http("/feed/"), REQUEST)

    assert caplog.messages == [
        "No HTTP route matches 'feed/'. Known patterns: 'chat/...'. "
        "Add a path() or re_path() entry for it."
    ]


# -- validating the table -----------------------------------------------------


def test_consumer_class_instead_of_as_asgi_fails_at_construction() -> None:
    with pytest.raises(
        RoutingConfigError,
        match=r"^URLRouter route 'chat/<room>/': got the consumer class ChatConsumer, "
        r"not an ASGI application\. Route ChatConsumer\.as_asgi\(\) instead\.$",
    ):
        URLRouter([path("chat/<room>/", ChatConsumer)])


def test_consumer_class_in_a_nested_router_fails_at_construction() -> None:
    with pytest.raises(RoutingConfigError, match=r"Route ChatConsumer\.as_asgi\(\) instead"):
        URLRouter([path("ws/", include([path("chat/", ChatConsumer)]))])


def test_entry_that_is_not_a_route_fails_at_construction() -> None:
    with pytest.raises(
        RoutingConfigError,
        match=r"^URLRouter entry 1: got 'chat/'; entries must come from django\.urls",
    ):
        URLRouter([path("a/", Endpoint()), "chat/"])  # type: ignore[list-item]


def test_i18n_prefix_pattern_fails_at_construction() -> None:
    with pytest.raises(RoutingConfigError, match=r"LocalePrefixPattern patterns are not supported"):
        URLRouter([URLResolver(LocalePrefixPattern(), [path("a/", Endpoint())])])


def test_routes_keep_the_given_entries_unchanged() -> None:
    entry = path("ws/", URLRouter([path("chat/", Endpoint())]))
    router = URLRouter([entry])

    assert router.routes == (entry,)
    assert entry.pattern._is_endpoint  # the router compiled its own prefix copy
