"""Agents as tools: `agent.as_tool(...)` lets another agent call it with a text input.

The returned `AgentTool` is a tool the loop runs itself (it has `steps`): the sub-agent runs as a nested
`yield from agent_loop(...)` on a scratch session, so it runs in the caller's mode (sync, async, streaming), shares
the run context, the capabilities and their budgets, streams its events to the caller, and adds its usage to the
caller's. Several in one step run side by side (features/parallel.py).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Generator

from ..engine.capability import Outcome, ToolRun
from ..engine.loop import Run, agent_loop
from ..errors import RunStopped, UserError
from ..result import RunResult
from ..session import Session
from ..tool import Tool, tool

# Errors that stop the whole run, also from inside a nested agent (other failures of a nested agent become an
# "Error: ..." tool message for the calling agent, like any failing tool).
RUN_STOPPERS = (RunStopped, UserError)
DEFAULT_MAX_DEPTH = 3


class MaxAgentDepthExceeded(RunStopped):
    """Agents used as tools nested deeper than `max_agent_depth`; `.chain` names the nested agents."""

    def __init__(self, message: str, *, chain: list[str]) -> None:
        super().__init__(message)
        self.chain = chain


@dataclass
class AgentTool(Tool):
    """A tool that runs `agent` on its own scratch session; built by `Agent.as_tool`."""

    agent: Any = None

    def steps(self, item: ToolRun, parent: Run) -> Generator[Any, Any, Outcome]:
        """The nested run, as the loop's own steps: the same loop, in the caller's mode."""
        lineage = [*_lineage(parent), self.agent.name]
        check_depth(lineage, parent.options.settings.get("max_agent_depth", DEFAULT_MAX_DEPTH))
        child = Run(self.agent, Session(), parent.context, item.arguments["input"], options=parent.options,
                    parent=parent, call_id=item.call_id)
        try:
            done = yield from agent_loop(child)
        except BaseException as exc:
            if isinstance(exc, RUN_STOPPERS) or not isinstance(exc, Exception):
                raise
            partial = getattr(exc, "result", None)  # e.g. MaxTurnsExceeded: what the sub-agent spent still counts
            if isinstance(partial, RunResult):
                parent.result.usage.merge(partial.usage)
            return Outcome(error=exc)
        parent.result.usage.merge(done.usage)
        return Outcome(value=done.final_output)


def agent_as_tool(agent: Any, tool_name: str | None = None, tool_description: str | None = None) -> AgentTool:
    """See `Agent.as_tool`."""
    def run_agent(input: str) -> str:
        """Run the agent; only the agent loop can do this, so a direct call explains itself."""
        raise UserError(f"{name!r} runs inside the agent loop when another agent calls it. To run agent "
                        f"{agent.name!r} directly, use Runner().run(agent, input).")

    name = tool_name or re.sub(r"[^a-zA-Z0-9_-]", "_", agent.name)[:64]
    description = tool_description or f"Ask the agent {agent.name!r}; give it the full task as `input`."
    base = tool(run_agent, name=name, description=description)
    base.parameters["properties"]["input"]["description"] = "The task or question for the agent."
    return AgentTool(**{f.name: getattr(base, f.name) for f in dataclasses.fields(Tool)}, agent=agent)


def _lineage(run: Run | None) -> list[str]:
    """The agents of the nested runs down to `run`, outermost first (each run's current agent)."""
    names: list[str] = []
    while run is not None:
        names.insert(0, run.agent.name)
        run = run.parent
    return names


def check_depth(lineage: list[str], max_agent_depth: int) -> None:
    """Stop agents-as-tools nesting past the limit with a clear error (not Python's RecursionError)."""
    if len(lineage) - 1 > max_agent_depth:
        raise MaxAgentDepthExceeded(
            f"Agents used as tools nest too deep: {' -> '.join(lineage)} (max_agent_depth={max_agent_depth}). "
            "Raise Runner(max_agent_depth=...) or stop agents calling each other in a circle.", chain=lineage)
