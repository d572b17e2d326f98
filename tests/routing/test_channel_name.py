"""Tests for ``callboard.routing._channel_name``: ChannelNameRouter for workers."""

from __future__ import annotations

import pytest

from callboard.routing import ChannelNameRouter, NoRouteError, RoutingConfigError

from ._doubles import ChatConsumer, Endpoint, call


@pytest.mark.anyio
async def test_channel_scope_goes_to_the_application_for_its_name() -> None:
    thumbnails, emails = Endpoint("thumbnails"), Endpoint("emails")
    router = ChannelNameRouter({"thumbnails": thumbnails, "emails": emails})

    await call(router, {"type": "channel", "channel": "emails"})

    assert emails.scope == {"type": "channel", "channel": "emails"}
    assert not thumbnails.scopes


async def test_unknown_channel_names_it_and_the_known_ones() -> None:
    router = ChannelNameRouter({"thumbnails": Endpoint(), "emails": Endpoint()})

    with pytest.raises(
        NoRouteError,
        match=r"^No application configured for channel name 'sms'\. "
        r"Known channel names: 'thumbnails', 'emails'\. ",
    ):
        await call(router, {"type": "channel", "channel": "sms"})


async def test_wrong_scope_type_is_a_mounting_error() -> None:
    router = ChannelNameRouter({"emails": Endpoint()})

    with pytest.raises(
        RoutingConfigError,
        match=r"^ChannelNameRouter: got a 'websocket' scope, but it routes only 'channel' "
        r"scopes \(background workers\)\. Mount it as the 'channel' entry",
    ):
        await call(router, {"type": "websocket", "path": "/"})


async def test_channel_scope_without_channel_key_is_refused() -> None:
    router = ChannelNameRouter({"emails": Endpoint()})

    with pytest.raises(RoutingConfigError, match=r"without a 'channel' key"):
        await call(router, {"type": "channel"})


def test_consumer_class_instead_of_as_asgi_fails_at_construction() -> None:
    with pytest.raises(
        RoutingConfigError,
        match=r"^ChannelNameRouter entry 'emails': got the consumer class ChatConsumer",
    ):
        ChannelNameRouter({"emails": ChatConsumer})  # type: ignore[dict-item]
