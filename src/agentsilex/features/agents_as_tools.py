"""Agents as tools: `agent.as_tool(...)` lets another agent call it with a text input.

The returned `AgentTool` is only a description. The loop runs the sub-agent itself, as a nested
`yield from agent_loop(...)`, so it runs in the caller's mode (sync, async, streaming), shares the run
context and budget, streams its events to the caller, and adds its usage to the caller's.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from ..errors import MaxAgentDepthExceeded, UserError
from ..tool import Tool, tool


@dataclass
class AgentTool(Tool):
    """A tool that runs `agent` on its own scratch session; built by `Agent.as_tool`."""

    agent: Any = None


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


def check_depth(lineage: list[str], max_agent_depth: int) -> None:
    """Stop agents-as-tools nesting past the limit with a clear error (not Python's RecursionError)."""
    if len(lineage) - 1 > max_agent_depth:
        raise MaxAgentDepthExceeded(
            f"Agents used as tools nest too deep: {' -> '.join(lineage)} (max_agent_depth={max_agent_depth}). "
            "Raise Runner(max_agent_depth=...) or stop agents calling each other in a circle.", chain=lineage)
