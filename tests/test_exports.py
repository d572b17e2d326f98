"""The public surface: every ``__all__`` entry resolves and every public name is exported once.

Covers ``callboard`` and every public module under it (no path component
starting with ``_``), discovered with :mod:`pkgutil`, so a new subpackage
(``callboard.layers``, ``callboard.consumers`` ...) is checked as soon as it
exists.

Deliberate compatibility aliases are fine: ``callboard.auth``,
``callboard.db``, ``callboard.sessions``, ``callboard.middleware`` and
``callboard.security.websocket`` re-export the Django bridge's objects under
Channels' module names, and a name exported from several modules must be the
*same object* everywhere. The one exception is Django's management-command
convention: every module in ``callboard.management.commands`` must call its
class ``Command``.
"""

from __future__ import annotations
import __future__

import collections
import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import callboard


def _public_module_names() -> list[str]:
    names = ["callboard"]
    pending = [callboard]
    while pending:
        package = pending.pop()
        for info in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
            if info.name.rpartition(".")[2].startswith("_"):
                continue
            names.append(info.name)
            if info.ispkg:
                pending.append(importlib.import_module(info.name))
    return sorted(names)


PUBLIC_MODULES = _public_module_names()


def _exports(module: ModuleType) -> list[str]:
    exports = getattr(module, "__all__", None)
    assert exports is not None, f"{module.__name__} has no __all__: list its public names in one"
    assert isinstance(exports, list | tuple), f"{module.__name__}.__all__ is not a list"
    return list(exports)


def _is_exportable(module: ModuleType, value: object) -> bool:
    """Whether a public-looking module attribute is part of callboard's API.

    Submodules, ``from __future__`` features and names imported from outside
    callboard (``Any``, a ``logging.Logger``) are not.
    """
    if inspect.ismodule(value) or isinstance(value, __future__._Feature):
        return False
    home = getattr(value, "__module__", None)
    return not isinstance(home, str) or home.split(".")[0] == "callboard"


def test_the_expected_modules_are_discovered() -> None:
    assert {"callboard", "callboard.actors", "callboard.exceptions"} <= set(PUBLIC_MODULES)


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_every_all_entry_resolves_and_is_listed_once(name: str) -> None:
    module = importlib.import_module(name)
    exports = _exports(module)
    assert all(isinstance(entry, str) for entry in exports)
    twice = sorted(e for e, n in collections.Counter(exports).items() if n > 1)
    assert not twice, f"{name}.__all__ lists {twice} more than once"
    missing = [entry for entry in exports if not hasattr(module, entry)]
    assert not missing, f"{name}.__all__ lists {missing}, which {name} does not define"


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_every_public_name_is_in_all(name: str) -> None:
    module = importlib.import_module(name)
    exports = set(_exports(module))
    unlisted = sorted(
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_") and attr not in exports and _is_exportable(module, value)
    )
    assert not unlisted, f"{name} has public names missing from __all__: {unlisted}"


COMMANDS = "callboard.management.commands."
"""Django names every management command's class ``Command``; these modules are exempt."""


def test_no_name_is_exported_as_two_different_objects() -> None:
    homes: dict[str, list[tuple[str, object]]] = collections.defaultdict(list)
    for name in PUBLIC_MODULES:
        if name.startswith(COMMANDS):
            continue
        module = importlib.import_module(name)
        for entry in _exports(module):
            homes[entry].append((name, getattr(module, entry)))
    clashes = {
        entry: [module for module, _ in found]
        for entry, found in homes.items()
        if entry != "__version__" and len({id(value) for _, value in found}) > 1
    }
    assert not clashes, f"the same name means different things in different modules: {clashes}"
