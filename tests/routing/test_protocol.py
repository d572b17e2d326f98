"""Tests for ``callboard.routing._protocol``: ProtocolTypeRouter dispatch and checks."""

from __future__ import annotations

import pytest

from callboard.routing import NoRouteError, ProtocolTypeRouter, RoutingConfigError

from ._doubles import ChatConsumer, Endpoint, call


@pytest.mark.anyio
async def test_scope_goes_to_the_application_for_its_type() -> None:
    http, websocket = Endpoint("http"), Endpoint("websocket")
    router = ProtocolTypeRouter({"http": http, "websocket": websocket})

    await call(router, {"type": "websocket", "path": "/"})

    assert websocket.scope == {"type": "websocket", "path": "/"}
    assert not http.scopes


@pytest.mark.anyio
async def test_unknown_scope_type_names_it_and_the_known_ones() -> None:
    router = ProtocolTypeRouter({"http": Endpoint(), "websocket": Endpoint()})

    with pytest.raises(
        NoRouteError,
        match=r"^No application configured for scope type 'webtransport'\. "
        r"Known scope types: 'http', 'websocket', 'lifespan'\. "
        r"Add an entry for it to the ProtocolTypeRouter mapping\.$",
    ):
        await call(router, {"type": "webtransport"})


async def test_unknown_scope_type_error_is_a_value_error_as_in_channels() -> None:
    router = ProtocolTypeRouter({"http": Endpoint()})

    with pytest.raises(ValueError, match="scope type 'websocket'"):
        await call(router, {"type": "websocket"})


async def test_own_lifespan_application_gets_lifespan_scopes() -> None:
    lifespan = Endpoint("lifespan")
    router = ProtocolTypeRouter({"lifespan": lifespan})

    await call(router, {"type": "lifespan"})

    assert lifespan.scopes
    assert not router.handles_lifespan


def test_router_handles_lifespan_without_a_lifespan_entry() -> None:
    assert ProtocolTypeRouter({"http": Endpoint()}).handles_lifespan


async def test_known_types_omit_lifespan_when_the_mapping_serves_it() -> None:
    router = ProtocolTypeRouter({"lifespan": Endpoint()})

    with pytest.raises(NoRouteError, match=r"Known scope types: 'lifespan'\. "):
        await call(router, {"type": "http"})


def test_consumer_class_instead_of_as_asgi_fails_at_construction() -> None:
    with pytest.raises(
        RoutingConfigError,
        match=r"^ProtocolTypeRouter entry 'websocket': got the consumer class ChatConsumer, "
        r"not an ASGI application\. Route ChatConsumer\.as_asgi\(\) instead\.$",
    ):
        ProtocolTypeRouter({"websocket": ChatConsumer})  # type: ignore[dict-item]


def test_hooks_with_an_own_lifespan_application_fail_at_construction() -> None:
    async def hook() -> None:
        pass

    with pytest.raises(RoutingConfigError, match=r"they would never run"):
        ProtocolTypeRouter({"lifespan": Endpoint()}, on_startup=[hook])


def test_mapping_is_kept_as_given() -> None:
    mapping = {"http": Endpoint()}

    assert ProtocolTypeRouter(mapping).application_mapping is mapping
