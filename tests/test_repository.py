"""The repository keeps its own promises: imports flow one way, docs hold no machine paths."""

from __future__ import annotations

import re
from pathlib import Path

from imports import find_cycle, import_graph

ROOT = Path(__file__).parent.parent


def test_the_graph_sees_lazy_and_relative_imports():
    graph = import_graph()
    assert "agentsilex.engine.request" in graph["agentsilex.engine.loop"]  # from .request import ...
    assert "agentsilex.messages" in graph["agentsilex.engine.loop"]  # from .. import messages
    assert "agentsilex.models.litellm" in graph["agentsilex.models.routing"]  # imported lazily, inside a function
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycle_anywhere():
    """No module imports a module that imports it back, lazily or not (STYLE.md)."""
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


MACHINE_PATH = re.compile(r"(?<![\w.])(/work/|/root/|/home/|/Users/|[A-Z]:\\\\Users)")


def test_no_absolute_machine_paths_in_the_docs():
    docs = [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("bench/*.md"), *ROOT.glob("examples/*.py")]
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}" for path in docs
             for number, line in enumerate(path.read_text().splitlines(), 1) if MACHINE_PATH.search(line)]
    assert not found, "use relative paths:\n" + "\n".join(found)
