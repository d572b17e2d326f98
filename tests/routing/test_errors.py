"""Tests for ``callboard.routing._errors``: structured fields and readable messages."""

from __future__ import annotations

from callboard.exceptions import CallboardError
from callboard.routing import NoRouteError, RoutingConfigError
from callboard.routing._errors import MAX_LISTED, describe_known


def test_no_route_error_keeps_its_fields() -> None:
    error = NoRouteError("channel name", "sms", ["emails"], "Add it.")

    assert (error.kind, error.value, error.known, error.hint) == (
        "channel name",
        "sms",
        ("emails",),
        "Add it.",
    )
    assert str(error) == (
        "No application configured for channel name 'sms'. Known channel names: 'emails'. Add it."
    )


def test_no_route_error_is_a_callboard_value_error() -> None:
    error = NoRouteError("scope type", "x", [])

    assert isinstance(error, CallboardError)
    assert isinstance(error, ValueError)
    assert str(error) == "No application configured for scope type 'x'. Known scope types: none."


def test_known_label_can_be_named() -> None:
    error = NoRouteError("path", "a/", ["b/"], known_as="patterns")

    assert str(error) == "No application configured for path 'a/'. Known patterns: 'b/'."


def test_routing_config_error_joins_where_and_problem() -> None:
    error = RoutingConfigError("URLRouter entry 0", "got 3.")

    assert (error.where, error.problem, str(error)) == (
        "URLRouter entry 0",
        "got 3.",
        "URLRouter entry 0: got 3.",
    )


def test_known_list_is_quoted_without_escaping_regexes() -> None:
    assert describe_known([r"^room/(\d+)/$", "chat/"]) == r"'^room/(\d+)/$', 'chat/'"


def test_long_known_list_is_cut_with_a_count() -> None:
    known = [f"p{i}/" for i in range(MAX_LISTED + 3)]

    text = describe_known(known)

    assert text.endswith(f"'p{MAX_LISTED - 1}/' and 3 more")
    assert f"'p{MAX_LISTED}/'" not in text
