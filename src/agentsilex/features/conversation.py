"""A conversation that lasts: what a session keeps between runs besides its messages.

Kept with the session (`session.get_state`/`set_state`: a store's database, or `memory_state` on any other
session object):

- `"agentsilex.agent"`: the name of the agent that answers next. A handoff sets it; the next run on the
  session starts with that agent, looked up by name among the agents reachable through handoffs from the
  agent passed to `run` (that agent first, then its handoffs, breadth first). If no reachable agent has the
  name, or with `Runner(continue_agent=False)`, the agent passed to `run` answers.
- `"agentsilex.paused"`: the run waiting for approval (`RunState` JSON), cleared once it is resumed. A new
  prompt on a session with a paused run drops that run (its calls never run; a web chat's "a new question
  replaces the waiting one"); an app that must not lose the request checks `paused` before sending a prompt.
  A run cannot be resumed once the conversation has moved on past it (a newer prompt was sent).
- `"agentsilex.usage"`: the conversation's running usage (requests and tokens, per model).

`Conversation(session)` reads and edits all three. `ConversationLimits` is a budget for the whole conversation,
checked before each request from an estimate and again after it with the real counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import UserError
from ..models import Usage
from ..session import get_state, set_state
from . import approval, handoffs
from .approval import PendingApproval, RunState
from .usage import Budget, RequestUsage, check_limit, cost_usd

AGENT, PAUSED, USAGE = "agentsilex.agent", "agentsilex.paused", "agentsilex.usage"
_DETAIL = ("cached_input_tokens", "cache_write_tokens", "reasoning_tokens")


@dataclass(frozen=True)
class ConversationLimits:
    """A budget for one conversation (all runs on one session), for `Runner(conversation_limits=...)`."""

    max_requests: int | None = None
    max_total_tokens: int | None = None
    max_cost_usd: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_requests", "max_total_tokens", "max_cost_usd"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise UserError(f"ConversationLimits.{name} must be a non-negative number or None, got {value!r}.")


@dataclass
class ConversationUsage(Usage):
    """The running totals of a conversation; `by_model` maps a model name to [requests, input, output]."""

    by_model: dict[str, list[int]] = field(default_factory=dict)

    def add_request(self, entry: RequestUsage) -> None:
        self.requests, self.input_tokens = self.requests + 1, self.input_tokens + entry.input_tokens
        self.output_tokens += entry.output_tokens
        for name in _DETAIL:  # cached, cache-write and reasoning tokens (parts of the counts above)
            setattr(self, name, getattr(self, name) + getattr(entry, name, 0))
        self.estimated = self.estimated or entry.estimated  # some counts are guesses: say so for good
        totals = self.by_model.setdefault(entry.model, [0, 0, 0])
        totals[0], totals[1], totals[2] = totals[0] + 1, totals[1] + entry.input_tokens, totals[2] + entry.output_tokens

    @property
    def cost_usd(self) -> float | None:
        """USD from LiteLLM's price table, per model; None if no model used has a known price."""
        costs = [c for c in (cost_usd(m, t[1], t[2]) for m, t in self.by_model.items()) if c is not None]
        return sum(costs) if costs else None

    def to_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                **{name: getattr(self, name) for name in _DETAIL}, "estimated": self.estimated,
                "by_model": {model: list(totals) for model, totals in self.by_model.items()}}

    @classmethod
    def from_dict(cls, data: Any) -> ConversationUsage:
        if not isinstance(data, dict):
            return cls()
        return cls(requests=data["requests"], input_tokens=data["input_tokens"], output_tokens=data["output_tokens"],
                   **{name: data.get(name, 0) for name in _DETAIL}, estimated=bool(data.get("estimated")),
                   by_model={k: list(v) for k, v in data.get("by_model", {}).items()})


class Conversation:
    """What a session remembers between runs: who answers next, the run waiting for approval, what was spent."""

    def __init__(self, session: Any, *, approval_key: str | bytes | None = None) -> None:
        self.session = session
        self.approval_key = approval_key  # the Runner's; None: $AGENTSILEX_APPROVAL_KEY (see control/approval.py)

    @property
    def agent_name(self) -> str | None:
        """The agent that answers next (set by the last handoff), or None: the agent passed to `run`."""
        name = _get(self.session, AGENT)
        return name if isinstance(name, str) else None

    def set_agent(self, agent: Any) -> None:
        """Make `agent` (an Agent or a name; None: whoever is passed to `run`) answer the next run."""
        _set(self.session, AGENT, getattr(agent, "name", agent))

    def agent_for(self, start: Any) -> Any:
        """The agent that answers the next run started with `start` (see the module docstring)."""
        name = self.agent_name
        if name is None or name == start.name:
            return start
        try:
            return handoffs.find_agent(start, name)
        except UserError:
            return start

    @property
    def paused(self) -> RunState | None:
        """The run waiting for approval on this session (decide its calls, then `runner.run(agent, state)`).
        Its signature is checked with the approval key here already: a state edited in the store is refused."""
        text = _get(self.session, PAUSED)
        if not isinstance(text, str):
            return None
        state = RunState.from_json(text)
        approval.verify(state, approval.resolve_key(self.approval_key))
        if state.message in self.session.get_dialogs():  # resumed, but stopped before the pause was cleared
            return None
        return state

    @property
    def pending_approvals(self) -> list[PendingApproval]:
        """The tool calls waiting for a human on this session (empty if none): what a web page or CLI lists."""
        state = self.paused
        return [] if state is None else state.pending_approvals

    def discard_paused(self) -> None:
        """Forget the paused run: its calls never run, and the next prompt starts afresh."""
        _set(self.session, PAUSED, None)

    @property
    def usage(self) -> ConversationUsage:
        """Requests and tokens of every run on this session so far (`.cost_usd` prices them)."""
        return ConversationUsage.from_dict(_get(self.session, USAGE))

    def reset(self) -> None:
        """Forget the next agent, the paused run and the usage (the messages stay)."""
        for key in (AGENT, PAUSED, USAGE):
            _set(self.session, key, None)


class Meter:
    """Counts a conversation's requests in its session and checks them against `ConversationLimits`."""

    def __init__(self, session: Any, limits: ConversationLimits | None) -> None:
        if limits is not None and not isinstance(limits, ConversationLimits):
            raise UserError(f"Runner(conversation_limits=...) must be a ConversationLimits, got {limits!r}.")
        self.session, self.limits = session, limits or ConversationLimits()
        self.usage = Conversation(session).usage
        self.active = any(v is not None for v in (self.limits.max_requests, self.limits.max_total_tokens,
                                                  self.limits.max_cost_usd))
        self.unsaved = False

    def check(self, input_tokens: int, output_tokens: int, model: str) -> None:
        """Before a request: raise if it would take the conversation past a limit (from an estimate)."""
        limits, usage = self.limits, self.usage
        check_limit("ConversationLimits", "max_requests", limits.max_requests, usage.requests + 1, "requests",
                    conversation=True)
        check_limit("ConversationLimits", "max_total_tokens", limits.max_total_tokens,
                    usage.total_tokens + input_tokens + output_tokens, "tokens", estimate=True, conversation=True)
        if limits.max_cost_usd is not None:
            cost = (usage.cost_usd or 0.0) + (cost_usd(model, input_tokens, output_tokens) or 0.0)
            check_limit("ConversationLimits", "max_cost_usd", limits.max_cost_usd, cost, "USD", estimate=True,
                        conversation=True)

    def charge(self, entry: RequestUsage) -> None:
        """After a request: count it (stored at the end of the run), then raise if the real counts went past a
        limit."""
        self.usage.add_request(entry)
        self.unsaved = True
        if not self.active:
            return
        limits, usage = self.limits, self.usage
        check_limit("ConversationLimits", "max_total_tokens", limits.max_total_tokens, usage.total_tokens, "tokens",
                    conversation=True)
        if limits.max_cost_usd is not None:
            cost = usage.cost_usd
            if cost is None:
                raise UserError(f"A conversation cost limit is set but LiteLLM has no price for model {entry.model!r}; "
                                "register one with litellm.register_model(...) or drop max_cost_usd.")
            check_limit("ConversationLimits", "max_cost_usd", limits.max_cost_usd, cost, "USD", conversation=True)

    def save(self) -> None:
        if self.unsaved:
            _set(self.session, USAGE, self.usage.to_dict())
            self.unsaved = False


def settle(meter: Meter | None, top: bool) -> None:
    """At the end of the outermost run (finished, paused, failed or stopped): store the conversation's usage."""
    if top and meter is not None:
        meter.save()


def start(session: Any, agent: Any, prompt: Any, options: Any) -> tuple[Any, Budget]:
    """The outermost run's agent (see starting_agent) and its budget, which counts the conversation too."""
    agent = starting_agent(session, agent, prompt, options.continue_agent)
    return agent, Budget(options.limits, Meter(session, options.conversation_limits))


def starting_agent(session: Any, agent: Any, prompt: Any, continue_agent: bool) -> Any:
    """At the start of an outermost run: a new prompt drops a paused run; a paused run resumes only where it
    paused; then pick who answers."""
    if isinstance(prompt, RunState):
        last = next((m.get("content") for m in reversed(session.get_dialogs()) if m.get("role") == "user"), None)
        if last is not None and last != prompt.input:  # a run adds no user message but its own prompt
            raise UserError(f"The conversation moved on since this run paused (the last message is {last!r:.60}, "
                            f"the paused run answered {prompt.input!r:.60}), so it cannot be resumed: its calls "
                            "never run. Ask again.")
        return agent
    if _get(session, PAUSED) is not None:  # a new prompt replaces the run that was waiting
        _set(session, PAUSED, None)
    return Conversation(session).agent_for(agent) if continue_agent else agent


def handed_off(session: Any, agent: Any, depth: int) -> None:
    """A handoff in the outermost run (depth 0): `agent` answers from now on, in later runs too."""
    if depth == 0:  # an agent used as a tool hands off inside its own scratch session
        _set(session, AGENT, agent.name)


def paused(session: Any, state: RunState, key: bytes | None) -> RunState:
    """A run paused for approval: sign the state with the Runner's approval key (none: the Runner's guard
    signs it later) and keep it with the session, to resume in any process."""
    if key is not None:
        approval.sign(state, key)
    _set(session, PAUSED, state.to_json())
    return state


def resumed(session: Any, state: RunState, committed: list[dict]) -> None:
    """Forget the paused run once its waiting step is in the history (it resumes only once)."""
    if any(message is state.message for message in committed):
        _set(session, PAUSED, None)


def _get(session: Any, key: str) -> Any:
    return get_state(session, key)


def _set(session: Any, key: str, value: Any) -> None:
    set_state(session, key, value)
