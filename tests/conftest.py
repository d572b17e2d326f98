"""Suite-wide configuration.

Every async test runs on Trio (pytest-trio's ``trio_mode``). A test marked
``@pytest.mark.anyio`` runs twice instead, on Trio and on asyncio, through
AnyIO's pytest plugin; such a test takes no async fixtures (pytest-trio
owns those) and uses real time, not ``autojump_clock``.
"""

from __future__ import annotations

import pytest

BACKENDS = ("trio", "asyncio")


@pytest.fixture(scope="module", params=BACKENDS)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """The AnyIO backend an ``anyio``-marked test runs on."""
    backend: str = request.param
    return backend


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # pytest-trio's trio_mode marks every async test for Trio; hand the
    # anyio-marked ones to AnyIO's runner instead.
    for item in items:
        if item.get_closest_marker("anyio") is not None:
            item.own_markers[:] = [m for m in item.own_markers if m.name != "trio"]
