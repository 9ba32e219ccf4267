"""The repository keeps its own promises: imports flow one way, docs hold no machine paths."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
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


def _imports(source: str) -> set[str]:
    """The `import agentsilex...` statements of a Python source (or of each code block of a Markdown page)."""
    blocks = re.findall(r"```(?:python)?\n(.*?)```", source, re.S) if "```" in source else [source]
    found = set()
    for block in blocks:
        try:
            tree = ast.parse(block)
        except SyntaxError:  # a shell block, or an excerpt
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("agentsilex") and not node.level:
                found.add(f"from {node.module} import {', '.join(a.name for a in node.names)}")
            elif isinstance(node, ast.Import):
                found.update(f"import {a.name}" for a in node.names if a.name.startswith("agentsilex"))
    return found


def test_every_import_the_docs_and_examples_show_works():
    """README.md, docs/ and examples/ keep working after modules moved (optional names load lazily)."""
    texts = [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("examples/**/*.py")]
    statements = set().union(*(_imports(path.read_text()) for path in texts))
    assert len(statements) > 30
    out = subprocess.run([sys.executable, "-c", "\n".join(sorted(statements))], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]


def test_old_module_paths_are_the_new_modules():
    code = ("import importlib, json\nfrom agentsilex._moved import MOVED\n"
            "same = {old: importlib.import_module(old) is importlib.import_module(new) for old, new in MOVED.items()}\n"
            "print(json.dumps(same))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    same = json.loads(out.stdout)
    assert same and all(same.values()), [old for old, ok in same.items() if not ok]
    run = subprocess.run([sys.executable, "-m", "agentsilex.cli", "--help"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and "Usage" in run.stdout


def test_every_import_that_worked_before_the_engine_split_still_works():
    """The imports README.md, docs/ and examples/ showed before issue 20, and the old module paths, still import."""
    statements = (ROOT / "tests" / "data" / "imports_before_issue_20.txt").read_text()
    out = subprocess.run([sys.executable, "-c", statements], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
