"""Names a module serves from the module that defines them, imported on first use (PEP 562 `__getattr__`)."""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable


def lazy_names(module: str, homes: dict[str, tuple[str, ...]]) -> Callable[[str], Any]:
    """`__getattr__` for `module`: each name listed under a home comes from `agentsilex.<home>`, imported then."""
    where = {name: home for home, names in homes.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        return getattr(import_module(f"agentsilex.{where[name]}"), name)

    return __getattr__
