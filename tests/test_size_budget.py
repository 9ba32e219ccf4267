"""Size is a feature: what a fresh `import agentsilex` plus one plain run actually loads, measured from sys.modules in
a fresh process (STYLE.md, README "The core in one sitting"). Nothing here keeps a hand-made list of core modules."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "agentsilex"
RUN_BUDGET = 2600  # lines of every agentsilex module a fresh import plus a plain run with one tool call loads
ENGINE_BUDGET = 1850  # the engine: engine/ (loop, request, capability protocol, drivers), runner, agent, tool, session,
# the model contract. STYLE.md aims at ~1,500; measured 1,841 with the async driver (161 of them), see the README.
MODULE_BUDGET = 400  # lines in any one module
FUNCTION_BUDGET = 50  # lines in any one function

# One plain run: a tool, the scripted model, a Session, one tool call. The scripted model stands in for your own
# model (agentsilex.testing is not counted: a real run loads a model adapter instead).
PLAIN_RUN = """
import json, sys
before = set(sys.modules)
import agentsilex
imported = {k for k in sys.modules if k.startswith("agentsilex")}
from agentsilex import Agent, Runner, Session, tool
from agentsilex.testing import ScriptedModel, call

@tool
def add(a: int, b: int) -> int:
    '''Add two numbers.'''
    return a + b

result = Runner(Session()).run(Agent(name="calc", model=ScriptedModel([call("add", a=5, b=3), "8"]), tools=[add]),
                               "5+3?")
assert result.final_output == "8"
files = {k: m.__file__ for k, m in list(sys.modules.items())
         if (k == "agentsilex" or k.startswith("agentsilex.")) and getattr(m, "__file__", None)}
print(json.dumps({"files": files, "imported": sorted(imported), "others": sorted(set(sys.modules) - before)}))
"""


def loaded(code: str = PLAIN_RUN) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def lines(path: str) -> int:
    return len(Path(path).read_text(encoding="utf-8").splitlines())


def test_a_plain_run_loads_at_most_the_budget_and_no_feature():
    found = loaded()
    counted = {name: lines(path) for name, path in found["files"].items() if not name.startswith("agentsilex.testing")}
    total = sum(counted.values())
    biggest = ", ".join(f"{name} {n}" for name, n in sorted(counted.items(), key=lambda item: -item[1])[:6])
    assert total <= RUN_BUDGET, (f"import agentsilex + a plain run loads {total} lines in {len(counted)} modules "
                                 f"(budget {RUN_BUDGET}; biggest: {biggest}): move a feature out of the run's path")
    features = [name for name in counted if name.startswith(("agentsilex.features", "agentsilex.tracing",
                                                             "agentsilex.wrapping", "agentsilex.options",
                                                             "agentsilex.concurrency", "agentsilex.models.stream",
                                                             "agentsilex.engine.drivers_async", "agentsilex._moved"))]
    assert not features, f"a plain run loaded what only a feature needs: {features}"


def test_import_loads_no_heavy_dependency_and_testing_loads_only_what_is_used():
    found = loaded("import json, sys\nbefore = set(sys.modules)\nimport agentsilex\n"
                   "from agentsilex import Agent, Runner, Session, tool\n"
                   "from agentsilex.testing import ScriptedModel\n"
                   "files = {k: getattr(m, '__file__', '') for k, m in sys.modules.items() if k.startswith('agentsilex')}\n"
                   "print(json.dumps({'files': files, 'imported': [], 'others': sorted(set(sys.modules) - before)}))")
    heavy = [name for name in ("pydantic", "asyncio", "litellm", "httpx", "aiohttp", "docstring_parser",
                               "opentelemetry") if name in found["others"]]
    assert not heavy, f"import agentsilex loaded {heavy}: import them where they are used"
    testing = sorted(name for name in found["files"] if name.startswith("agentsilex.testing"))
    assert testing == ["agentsilex.testing", "agentsilex.testing.script"], testing


def test_the_engine_reads_in_one_sitting():
    engine = [*PACKAGE.joinpath("engine").glob("*.py"), *(PACKAGE / name for name in (
        "runner.py", "agent.py", "tool.py", "session.py", "models/base.py"))]
    total = sum(lines(str(path)) for path in engine)
    assert total <= ENGINE_BUDGET, f"the engine is {total} lines (budget {ENGINE_BUDGET})"


def test_no_module_or_function_is_too_long():
    problems = []
    for path in PACKAGE.rglob("*.py"):
        source = path.read_text()
        if len(source.splitlines()) > MODULE_BUDGET:
            problems.append(f"{path.relative_to(PACKAGE)}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > FUNCTION_BUDGET:
                    problems.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}() is {length} lines")
    assert not problems, "split these up:\n" + "\n".join(problems)
