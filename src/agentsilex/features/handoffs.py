"""Handoffs: an agent offers `transfer_to_<name>` tools; calling one passes the conversation to that agent.

A handoff is a tool whose result is another agent (as in openai/swarm). The loop answers every handoff
call so the transcript stays valid, runs the target on the same session from the next turn, and stops a
chain that comes back to an agent it already passed through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from ..engine.capability import AlreadyAnswered, Emit, HandOff, Step
from ..errors import RunStopped, UserError
from ..events import AgentHandoffEvent
from ..history import repair_history
from ..result import answer
from ..session import get_state, set_state
from ..wrapping import Capability, intercept, split_history

PREFIX = "transfer_to_"
AGENT = "agentsilex.agent"  # kept with the session: the agent that answers next (see next_agent)
DEFAULT_MAX_HANDOFFS = 10


class HandoffLoopError(RunStopped):
    """Handoffs went in a circle (A -> B -> A) or past `max_handoffs`; `.chain` names the agents in order."""

    def __init__(self, message: str, *, chain: list[str], result: Any = None) -> None:
        super().__init__(message)
        self.chain = chain
        self.result = result


class Handoffs(Capability):
    """The handoff tools on every request, a handoff call decided, and what follows it: the target's input filter
    on what is sent, `on_handoff`, and (in the outermost run) the session remembering who answers next."""

    def prepare(self, request: Any, step: Step) -> Any:
        view = step.run.state.get("handoff.view")
        if view is not None and view[0] is step.agent:  # the input filter of the handoff in effect
            head, history = split_history(request, step)
            request.messages = [*head, *repair_history(view[1](history))]
        request.tools = [*request.tools, *(item.spec() for item in handoffs_of(step.agent))]
        return request

    def decide(self, call: dict, step: Step) -> Any:
        target = find(step.agent, call["function"]["name"])
        if target is None:
            return None
        first = next((d for d in step.decisions if isinstance(d, HandOff)), None)
        if first is not None:  # the first handoff wins; the others are answered, not dropped
            return AlreadyAnswered(call, answer(call, declined(first.agent)))
        check_chain(step.run.chain, target.agent, step.run.options.settings.get("max_handoffs", DEFAULT_MAX_HANDOFFS))
        step.run.state["handoff.chosen"] = target
        return HandOff(call, target.agent, answer(call, accepted(target.agent)))

    def wrap(self, loop: Any) -> Any:
        return intercept(loop, before=self._handed_off)

    def _handed_off(self, request: Any) -> None:
        if not (isinstance(request, Emit) and isinstance(request.event, AgentHandoffEvent)):
            return
        run = request.run
        chosen = run.state.pop("handoff.chosen")
        if chosen.input_filter is not None:
            run.state["handoff.view"] = (chosen.agent, chosen.input_filter)
        if chosen.on_handoff is not None:
            chosen.on_handoff(run.context)
        if run.depth == 0:  # later runs continue with the target too (an agent used as a tool hands off in its
            set_state(run.session, AGENT, chosen.agent.name)  # own scratch session)


def next_agent(session: Any, start: Any) -> Any:
    """The agent that answers a run started with `start`: the target of the last handoff on this session, when it
    is reachable through handoffs from `start`; else `start`."""
    name = get_state(session, AGENT)
    if not isinstance(name, str) or name == start.name:
        return start
    try:
        return find_agent(start, name)
    except UserError:
        return start


@dataclass(frozen=True)
class Handoff:
    """A handoff target plus options; build it with `handoff(agent, ...)`."""

    agent: Any
    tool_name: str
    tool_description: str
    # fn(messages) -> messages: what history the target sees (the session itself is not changed).
    input_filter: Callable[[list[dict]], list[dict]] | None = None
    on_handoff: Callable[[Any], Any] | None = None  # fn(context), called when the handoff happens

    def spec(self) -> dict:
        return {"type": "function", "function": {"name": self.tool_name, "description": self.tool_description,
                                                 "parameters": {"type": "object", "properties": {}}}}


def handoff(agent: Any, *, tool_name: str | None = None, tool_description: str | None = None,
            input_filter: Callable[[list[dict]], list[dict]] | None = None,
            on_handoff: Callable[[Any], Any] | None = None) -> Handoff:
    """A handoff to `agent` with a custom tool name or description, an input filter or a callback."""
    if not hasattr(agent, "render_instructions"):
        raise UserError(f"handoff() needs an Agent, got {agent!r}.")
    name = tool_name or PREFIX + re.sub(r"[^a-zA-Z0-9_-]", "_", agent.name).lower()
    about = f" {agent.description}" if getattr(agent, "description", "") else ""  # Agent(description=...)
    description = tool_description or f"Hand the conversation over to the agent {agent.name!r}.{about}"
    return Handoff(agent, name[:64], description, input_filter, on_handoff)


def handoffs_of(agent: Any) -> list[Handoff]:
    """The agent's handoffs as `Handoff`s (read at each use, so `a.handoffs.append(b)` after creation works)."""
    found = []
    for item in agent.handoffs:
        if isinstance(item, Handoff):
            found.append(item)
        elif hasattr(item, "render_instructions"):
            found.append(handoff(item))
        else:
            raise UserError(f"Agent {agent.name!r}: handoffs must be Agents or handoff(...) objects, got {item!r}.")
    return found


def check_handoffs(agent: Any) -> None:
    """Every handoff target is an Agent or handoff(...), and no two share a tool name."""
    names: set[str] = set()
    for item in agent.handoffs:
        if isinstance(item, str):
            raise UserError(f"Agent {agent.name!r}: handoffs must be Agents or handoff(...) objects, got the name "
                            f"{item!r}; pass the Agent object itself (define it first).")
    for found in handoffs_of(agent):
        if found.tool_name in names:
            raise UserError(f"Agent {agent.name!r} has two handoffs named {found.tool_name!r}; give one "
                            "handoff(agent, tool_name=...).")
        if found.tool_name in agent._tools_by_name:  # the handoff would silently win
            raise UserError(f"Agent {agent.name!r} has a tool and a handoff both named {found.tool_name!r}; "
                            "rename the tool with @tool(name=...) or the handoff with handoff(tool_name=...).")
        names.add(found.tool_name)


def find(agent: Any, tool_name: str) -> Handoff | None:
    return next((h for h in handoffs_of(agent) if h.tool_name == tool_name), None)


def check_chain(chain: list[str], target: Any, max_handoffs: int) -> None:
    """Refuse a handoff that returns to an agent already in this run's chain, or one past the limit."""
    names = [*chain, target.name]
    if target.name in chain:
        raise HandoffLoopError(f"Handoff loop: {' -> '.join(names)}. An agent handed the conversation back to "
                               "one it already passed through; give the agents clearer instructions about "
                               "when to hand off.", chain=names)
    if len(chain) > max_handoffs:
        raise HandoffLoopError(f"Too many handoffs (max_handoffs={max_handoffs}): {' -> '.join(names)}. Raise "
                               "Runner(max_handoffs=...) or simplify the chain.", chain=names)


def accepted(target: Any) -> str:
    return f"Transferred to agent {target.name!r}; it answers from now on."


def declined(winner: Any) -> str:
    return (f"Not transferred: only one handoff happens per turn, and the conversation is already going to "
            f"agent {winner.name!r}.")


def without_tool_calls(messages: list[dict]) -> list[dict]:
    """An input filter: the target sees the conversation without tool calls and tool results."""
    return [m for m in messages if m.get("role") != "tool" and not m.get("tool_calls")]


def find_agent(start: Any, name: str) -> Any:
    """The agent called `name`, searched from `start` through handoffs (used to resume a saved run)."""
    seen, todo = set(), [start]
    while todo:
        agent = todo.pop(0)
        if agent.name == name:
            return agent
        if id(agent) not in seen:
            seen.add(id(agent))
            todo.extend(h.agent for h in handoffs_of(agent))
    raise UserError(f"Cannot resume: no agent named {name!r} is reachable from {start.name!r} through handoffs. "
                    "Resume with the same starting agent the run used.")
