"""Tests for ``callboard.routing._target``: what may stand where an application goes."""

from __future__ import annotations

import pytest

from callboard.routing import RoutingConfigError
from callboard.routing._target import require_application

from ._doubles import ChatConsumer, Endpoint


def test_application_instances_and_functions_pass() -> None:
    async def app(scope: object, receive: object, send: object) -> None:
        pass

    require_application(app, "here")
    require_application(Endpoint(), "here")
    require_application(ChatConsumer.as_asgi(), "here")


def test_consumer_class_is_refused_with_the_as_asgi_fix() -> None:
    with pytest.raises(
        RoutingConfigError,
        match=r"^here: got the consumer class ChatConsumer, not an ASGI application\. "
        r"Route ChatConsumer\.as_asgi\(\) instead\.$",
    ):
        require_application(ChatConsumer, "here")


def test_other_class_is_refused() -> None:
    with pytest.raises(RoutingConfigError, match=r"^here: got the class Endpoint, not an ASGI"):
        require_application(Endpoint, "here")


def test_non_callable_is_refused() -> None:
    with pytest.raises(RoutingConfigError, match=r"^here: got 'chat', which is not callable\."):
        require_application("chat", "here")


def test_config_error_is_both_type_error_and_value_error() -> None:
    with pytest.raises(TypeError):
        require_application(ChatConsumer, "here")
    with pytest.raises(ValueError, match="ChatConsumer"):
        require_application(ChatConsumer, "here")
