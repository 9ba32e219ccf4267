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
- `"agentsilex.usage"`: the conversation's running usage (requests and tokens, per model), kept only when a
  Runner asks for it (`Runner(conversation=True)`, or `conversation_limits`): a plain run counts nothing here.

`Conversation(session)` reads and edits all three. `ConversationLimits` (features/limits.py) is a budget for the
whole conversation, checked by `UsageMeter` before each request from an estimate and again after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..engine.capability import ModelCall
from ..errors import UserError
from ..models import Usage
from ..models.catalog import request_cost
from ..session import get_state, set_state
from ..wrapping import Capability, intercept
from . import approval, handoffs
from .approval import PAUSED, PendingApproval, RunState
from .handoffs import AGENT
from .limits import ConversationLimits, check_limit, estimate_request

USAGE = "agentsilex.usage"
_DETAIL = ("cached_input_tokens", "cache_write_tokens", "reasoning_tokens")


@dataclass
class ConversationUsage(Usage):
    """The running totals of a conversation; `by_model` maps a model name to [requests, input, output]."""

    by_model: dict[str, list[int]] = field(default_factory=dict)

    def add_request(self, entry: Any) -> None:
        self.requests, self.input_tokens = self.requests + 1, self.input_tokens + entry.input_tokens
        self.output_tokens += entry.output_tokens
        for name in _DETAIL:  # cached, cache-write and reasoning tokens (parts of the counts above)
            setattr(self, name, getattr(self, name) + getattr(entry, name, 0))
        self.estimated = self.estimated or bool(getattr(entry, "estimated", False))  # some counts are guesses
        totals = self.by_model.setdefault(entry.model, [0, 0, 0])
        totals[0], totals[1], totals[2] = totals[0] + 1, totals[1] + entry.input_tokens, totals[2] + entry.output_tokens

    @property
    def cost_usd(self) -> float | None:
        """USD from LiteLLM's price table, per model; None if no model used has a known price."""
        costs = [c for c in (request_cost(m, t[1], t[2]) for m, t in self.by_model.items()) if c is not None]
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
        self.approval_key = approval_key  # the Runner's; None: $AGENTSILEX_APPROVAL_KEY (see features/approval.py)

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
        if state.session != approval.binding(self.session):
            return None  # paused on the conversation this one was forked or copied from: it resumes only there
        dialogs = self.session.get_dialogs()
        last = next((m.get("content") for m in reversed(dialogs) if m.get("role") == "user"), None)
        if state.message in dialogs or (last is not None and last != state.input):
            return None  # resumed (stopped before the pause was cleared), or the conversation moved on past it
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


class UsageMeter(Capability):
    """Counts a conversation's requests in its session, checks them against `ConversationLimits`, and stores the
    usage at the end of each run (finished, paused, failed or stopped)."""

    def __init__(self, limits: ConversationLimits | None = None) -> None:
        self.limits = limits or ConversationLimits()
        self.active = any(v is not None for v in vars(self.limits).values())

    def wrap(self, loop: Any) -> Any:
        session = loop.run.session
        self.usage, self.unsaved = Conversation(session).usage, False
        try:
            return (yield from intercept(loop, self._before, self._after))
        finally:
            if self.unsaved:
                set_state(session, USAGE, self.usage.to_dict())

    def _before(self, call: Any) -> None:
        """Before a request: raise if it would take the conversation past a limit (from an estimate)."""
        if not (isinstance(call, ModelCall) and self.active and not call.quiet):
            return
        limits, usage = self.limits, self.usage
        input_tokens, output_tokens = estimate_request(call.request)
        _check("max_requests", limits.max_requests, usage.requests + 1, "requests")
        _check("max_total_tokens", limits.max_total_tokens, usage.total_tokens + input_tokens + output_tokens,
               "tokens", estimate=True)
        if limits.max_cost_usd is not None:
            cost = (usage.cost_usd or 0.0) + (request_cost(call.model.name, input_tokens, output_tokens) or 0.0)
            _check("max_cost_usd", limits.max_cost_usd, cost, "USD", estimate=True)

    def _after(self, call: Any, response: Any, error: BaseException | None) -> None:
        """After a request: count it, then raise if the real counts went past a limit."""
        if not isinstance(call, ModelCall) or call.quiet or error is not None:
            return
        self.usage.add_request(_Entry(call.model.name, response.usage))
        self.unsaved = True
        if not self.active:
            return
        _check("max_total_tokens", self.limits.max_total_tokens, self.usage.total_tokens, "tokens")
        if self.limits.max_cost_usd is not None:
            cost = self.usage.cost_usd
            if cost is None:
                raise UserError(f"A conversation cost limit is set but LiteLLM has no price for model "
                                f"{call.model.name!r}; register one with litellm.register_model(...) or drop "
                                "max_cost_usd.")
            _check("max_cost_usd", self.limits.max_cost_usd, cost, "USD")


class _Entry:
    """One reply's usage as ConversationUsage.add_request reads it."""

    def __init__(self, model: str, usage: Usage) -> None:
        self.model = model
        for name in ("input_tokens", "output_tokens", "estimated", *_DETAIL):
            setattr(self, name, getattr(usage, name))


def _check(name: str, maximum: float | None, used: float, unit: str, *, estimate: bool = False) -> None:
    check_limit("ConversationLimits", name, maximum, used, unit, estimate=estimate, conversation=True)


def _get(session: Any, key: str) -> Any:
    return get_state(session, key)


def _set(session: Any, key: str, value: Any) -> None:
    set_state(session, key, value)
