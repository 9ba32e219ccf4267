"""Old module paths keep working: `import agentsilex.control.approval` gives `agentsilex.features.approval`.

When the engine was split from its features (engine/, features/, app/), modules moved. A program written
against an old path gets the same module object under its old name, so settings made through either name
(`agentsilex.content.MAX_INLINE_BYTES = ...`) are one setting. `agentsilex/__init__.py` puts a finder last on
`sys.meta_path`, so only a name no real module has reaches this module, which loads only then.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import types
from typing import Any

# old name -> new name; a package's submodules follow it ("agentsilex.cli.chat" -> "agentsilex.app.cli.chat").
MOVED = {
    "agentsilex._loop": "agentsilex.engine.loop", "agentsilex._request": "agentsilex.engine.request",
    "agentsilex._call_model": "agentsilex.engine.model_call", "agentsilex._run_tools": "agentsilex.engine.tool_calls",
    "agentsilex._tool_threads": "agentsilex.concurrency", "agentsilex._parallel": "agentsilex.features.parallel",
    "agentsilex._batch": "agentsilex.features.parallel", "agentsilex.control.planning": "agentsilex.engine.capability",
    "agentsilex.validation": "agentsilex.messages",
    "agentsilex.control.output": "agentsilex.features.output",
    "agentsilex.control.handoffs": "agentsilex.features.handoffs",
    "agentsilex.control.subagents": "agentsilex.features.agents_as_tools",
    "agentsilex.control.approval": "agentsilex.features.approval",
    "agentsilex.control.guardrails": "agentsilex.features.guardrails",
    "agentsilex.control.guards": "agentsilex.features.limits", "agentsilex.control.usage": "agentsilex.features.limits",
    "agentsilex.control.conversation": "agentsilex.features.conversation",
    "agentsilex.control.hooks": "agentsilex.features.hooks", "agentsilex.content": "agentsilex.features.content",
    "agentsilex.parts": "agentsilex.features.content", "agentsilex.memory": "agentsilex.features.memory",
    "agentsilex.frontend": "agentsilex.app.common", "agentsilex.cli": "agentsilex.app.cli",
    "agentsilex.web": "agentsilex.app.web",
}
EMPTY_PACKAGES = {"agentsilex.control"}  # held only modules that moved


def new_name(old: str) -> str | None:
    for prefix in (old, *(old.rsplit(".", n)[0] for n in range(1, old.count(".")))):
        if prefix in MOVED:
            return MOVED[prefix] + old[len(prefix):]
    return None


def find_spec(name: str) -> Any:
    """The spec of an old module path, loaded by `_LOADER` as the module that now has that job; None otherwise."""
    return _LOADER.find_spec(name)


class _OldPaths(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name in EMPTY_PACKAGES:
            return importlib.util.spec_from_loader(name, self, is_package=True)
        real = new_name(name) if name.startswith("agentsilex.") else None
        found = importlib.util.find_spec(real) if real is not None else None
        if found is None:
            return None
        return importlib.util.spec_from_loader(name, self, origin=found.origin,
                                             is_package=found.submodule_search_locations is not None)

    def create_module(self, spec: Any) -> types.ModuleType:
        if spec.name in EMPTY_PACKAGES:
            package = types.ModuleType(spec.name, "Modules that moved; see agentsilex._moved.")
            package.__path__ = []
            return package
        module = importlib.import_module(new_name(spec.name) or spec.name)
        self.__dict__.setdefault("specs", {})[spec.name] = module.__spec__
        return module

    def get_code(self, name: str) -> Any:
        """`python -m <old path>` runs the new module's code."""
        real = new_name(name) or name
        return importlib.util.find_spec(real).loader.get_code(real)

    def exec_module(self, module: types.ModuleType) -> None:
        original = getattr(self, "specs", {}).pop(module.__spec__.name if module.__spec__ else "", None)
        if original is not None:  # importlib set the old name's spec on the module: give it back its own
            module.__spec__ = original


_LOADER = _OldPaths()
