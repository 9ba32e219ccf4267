"""`Agent`: a configuration container. It holds no state of a run; the Runner does the work."""

from __future__ import annotations

import dataclasses
import inspect
import operator
from dataclasses import dataclass, field
from typing import Any, Callable

from .features.handoffs import handoffs_of
from .features.agents_as_tools import AgentTool, agent_as_tool
from .errors import UnknownToolError, UserError
from .models import Model, ModelSettings
from .tool import Tool, as_tool
from .validation import check_agent, check_tool_names


TOOL_USE_BEHAVIORS = ("run_llm_again", "stop_on_first_tool")


@dataclass(kw_only=True)
class Agent:
    """Who the model is (instructions), what it may call (tools, handoffs) and how it answers."""

    name: str
    model: str | Model
    # What the agent does, for people and other agents (not sent to its own model): the tool description when
    # it is served over MCP, its handoff tool's description, its A2A card, the web page, the tracing span.
    description: str = ""
    instructions: str | Callable[..., str] = ""
    tools: list[Any] = field(default_factory=list)
    handoffs: list[Any] = field(default_factory=list)
    output_type: Any = None  # e.g. a pydantic model or list[str]: final_output is then validated
    input_guardrails: list[Callable[..., Any]] = field(default_factory=list)
    output_guardrails: list[Callable[..., Any]] = field(default_factory=list)
    model_settings: ModelSettings = field(default_factory=ModelSettings)
    fallback_models: list[str | Model] = field(default_factory=list)  # tried in order if `model` fails for good
    # model_settings.tool_choice forces only the first request of a run (and after each handoff), then "auto";
    # False keeps forcing on every request (the run then ends only by a handoff, final_answer or a stop).
    reset_tool_choice: bool = True
    # "stop_on_first_tool": the first tool call's result is the final output (no model call after it).
    tool_use_behavior: str = "run_llm_again"
    _tools_by_name: dict[str, Tool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_agent(self)  # every option, so misconfiguration fails here and not mid-run (validation.py)
        if not isinstance(self.description, str):
            raise UserError(f"Agent {self.name!r}: description must be a string, got "
                            f"{type(self.description).__name__}.")
        if self.tool_use_behavior not in TOOL_USE_BEHAVIORS:
            raise UserError(f"Agent {self.name!r}: tool_use_behavior must be one of {TOOL_USE_BEHAVIORS}, "
                            f"got {self.tool_use_behavior!r}.")
        self.tools = [as_tool(item) for item in self.tools]
        self._tools_by_name = {}
        for item in self.tools:
            if item.name in self._tools_by_name:
                where = [getattr(t, "source", None) or f"function {getattr(t.function, '__qualname__', t.name)}"
                         for t in (self._tools_by_name[item.name], item)]  # MCP tools name their server
                raise UserError(f"Agent {self.name!r} has two tools named {item.name!r} ({where[0]} and "
                                f"{where[1]}); rename one with @tool(name=...) or an MCP prefix.")
            self._tools_by_name[item.name] = item
        check_tool_names(self)

    def _index(self) -> dict[str, Tool]:
        """Tools by name, following `agent.tools` if it was edited after the agent was made."""
        index = self._tools_by_name
        if len(index) == len(self.tools) and all(map(operator.is_, index.values(), self.tools)):
            return index  # the common case, checked in C: this runs on every request
        self.tools[:] = [as_tool(item) for item in self.tools]
        self._tools_by_name = {item.name: item for item in self.tools}
        return self._tools_by_name

    def as_tool(self, tool_name: str | None = None, tool_description: str | None = None) -> Tool:
        """This agent as a tool another agent can call; it runs nested, in the caller's mode and context."""
        return agent_as_tool(self, tool_name, tool_description)

    def clone(self, **changes: Any) -> Agent:
        """A copy with some fields changed, e.g. `agent.clone(model="gpt-4o-mini")`."""
        return dataclasses.replace(self, **changes)

    def render_instructions(self, context: Any) -> str:
        """The system prompt for this turn (instructions may be a function of the run context)."""
        if not callable(self.instructions):
            return self.instructions or ""
        arity = len(inspect.signature(self.instructions).parameters)
        text = self.instructions(*(context, self)[:arity])
        if not isinstance(text, str):
            raise UserError(f"Agent {self.name!r}: instructions function returned {type(text).__name__}, "
                            "expected str.")
        return text

    def get_system_prompt(self, context: Any = None) -> dict:
        """The system message (agentsilex 1.0 name)."""
        return {"role": "system", "content": self.render_instructions(context)}

    def tool_specs(self, context: Any = None) -> list[dict]:
        """The tools as the model sees them on this step: those enabled for `context` (see Tool.enabled)."""
        return [item.spec() for item in self._index().values() if item.is_enabled(context)]

    def find_tool(self, name: str, context: Any = None) -> Tool:
        found = self._index().get(name)
        if found is None:
            available = ", ".join(self._tools_by_name) or "none"
            raise UnknownToolError(f"Unknown tool {name!r}. Available tools: {available}.", tool_name=name)
        return found


def check_context(agent: Agent, context: Any) -> None:
    """Before any request: every tool this run may reach (through handoffs and agents used as tools) accepts
    the run context it will be given; a tool that declares another context type raises UserError."""
    seen: set[int] = set()
    todo = [agent]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for item in current._index().values():
            item.check_context(context)
            if isinstance(item, AgentTool):
                todo.append(item.agent)
        if current.handoffs:
            todo.extend(h.agent for h in handoffs_of(current))
