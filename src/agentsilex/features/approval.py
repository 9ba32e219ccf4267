"""Human approval: a tool marked `needs_approval` pauses the run before it executes.

The paused run emits one `ApprovalRequestedEvent` per waiting call and returns `result.pending_approvals`
and `result.state`, a `RunState` that serialises to JSON and is also kept with the session. Later -- in
this process or another one -- decide each pending call and pass the state back as the prompt, with the
same starting agent: `runner.run(agent, state)` (any of the four modes; the agent that paused is found by
name through handoffs from it).

    state = Conversation(session).paused          # or RunState.from_json(text)
    for item in state.pending_approvals: ...      # call_id, tool_name, arguments, agent
    state.approve(call_id); state.reject(other_id, "not today")
    result = runner.run(agent, state)             # result.usage: after the pause; .total_usage: all of it

Approval is enforced here, in code: a call that needs approval runs only with an explicit approval of
its id. A decision function that raises counts as "needs approval" (fail closed), and malformed
arguments are answered with an error without running anything.

A saved state is signed (HMAC-SHA256) with the application's approval key -- `Runner(approval_key=...)`,
else the AGENTSILEX_APPROVAL_KEY environment variable, else a random key of this process (then a state
resumes only in the process that paused it). Every field the human decided on is covered: the calls,
their names and arguments, the agent, the usage and limits spent. Decisions saved in the JSON are signed
too. An unsigned or edited state is refused before anything runs. Each paused step resumes at most once:
its approved calls are claimed (in this process, and in the session's store, shared by its copies and
forks) before any of them runs.

The seal also binds the conversation and the tools. A state resumes only on the session that paused it: a
store's session is named by its `session_id`; an in-memory Session by a random token kept with its state, so a
copy of its history in another Session object is another conversation. And an approved call runs only while
its tool is the one the human saw: each pending tool is named by a fingerprint of its name and JSON schema.
A state saved before this binding (format 2) is refused with a clear error: nothing says which conversation it
belongs to, so it cannot be bound safely after the fact.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any, Generator

from ..engine.capability import AlreadyAnswered, AwaitApproval, RunIt, Step
from ..errors import ToolError, UserError
from ..result import RunUsage, answer
from ..session import get_state, has_capabilities, set_state
from ..wrapping import Capability

VERSION = 3  # 3: bound to its session and tools; 2 is read (to show its calls) but never resumed
KEY_VARIABLE = "AGENTSILEX_APPROVAL_KEY"
PAUSED = "agentsilex.paused"  # kept with the session: the run waiting for approval (RunState JSON)
TOKEN = "agentsilex.session"  # kept with an in-memory session: names the conversation a paused state belongs to
_process_key = secrets.token_bytes(32)
_claimed: set[str] = set()  # approved calls resumed in this process: "<nonce>:<call id>"
_resumed: set[str] = set()  # the nonces of the states resumed in this process
_claimed_lock = threading.Lock()


class Approval(Capability):
    """A call that needs approval pauses the run (decide); the paused run's state is signed and kept with the
    session, and a RunState given back as the prompt resumes that run, once (wrap)."""

    def __init__(self, key: bytes | None = None, state: RunState | None = None) -> None:
        self.key = key if key is not None else resolve_key(None)
        self.state = state  # the paused run this run resumes, if any

    def decide(self, call: dict, step: Step) -> Any:
        return decide(call, step, self.state.decisions if self.state is not None else {})

    def wrap(self, loop: Any) -> Generator:
        run = loop.run
        if self.state is not None:
            self._resume(run, self.state)
        elif get_state(run.session, PAUSED) is not None:
            set_state(run.session, PAUSED, None)  # a new prompt replaces the run that was waiting
        try:
            result = yield from loop
        finally:
            if self.state is not None and any(m is self.state.message for m in run.result.new_messages):
                set_state(run.session, PAUSED, None)  # its waiting step is in the history: it resumed, once
        if result.pending_approvals:
            step = run.step
            state = RunState(run.agent.name, result.input, step.message, list(result.pending_approvals),
                             result.total_usage, list(run.chain), dict(run.state.get("spent", _NOTHING_SPENT)),
                             offered=None if step.offered is None else list(step.offered),
                             session=binding(run.session, create=True),
                             tools={p.tool_name: definition(step.agent, p.tool_name, run.context)
                                    for p in result.pending_approvals})
            result.state = sign(state, self.key)
            set_state(run.session, PAUSED, state.to_json())  # to resume in any process
        return result

    def _resume(self, run: Any, state: RunState) -> None:
        """Check the state (signed, decided, not resumed before, its conversation and still its last step, its
        tools unchanged), claim its approved calls, and set the run up to answer the paused step first."""
        with _claimed_lock:  # first: a resumed run updates the state's usage in place, so its seal no longer fits
            if state.nonce in _resumed:
                raise _already()
        verify(state, self.key)
        check_session(state, run.session)
        check_resumable(state, run.session.get_dialogs())
        _check_not_moved_on(state, run.session)
        agent = run.agent
        if state.agent != agent.name:
            from .handoffs import find_agent  # the agent that paused, reached through handoffs

            agent = find_agent(run.agent, state.agent)
        check_tools(state, agent, run.context)
        claim(state, run.session)  # last: a state refused above can still be resumed where it belongs
        run.agent = run.result.last_agent = agent
        run.chain, run.first = list(state.chain), False
        run.result.input, run.result.usage_before_pause = state.input, state.usage
        run.state["spent"] = dict(state.spent)  # a resumed run is the same run: its limits count what was spent
        run.resume = {"message": state.message, "offered": None if state.offered is None else tuple(state.offered)}


def decide(call: dict, step: Step, decisions: dict[str, dict]) -> Any:
    """How a call that needs approval is answered: run with an explicit approval of its id (`decisions`, the human's,
    count on a resumed step only), refused, unavailable in an agent used as a tool, or it waits (None: it needs none,
    or it is not a call the engine can run: the engine answers it)."""
    try:
        found = step.agent.find_tool(call["function"]["name"], step.context)
        arguments = found.parse_arguments(call["function"]["arguments"])
    except ToolError:
        return None
    if not needs_approval(found, step.context, arguments):
        return None
    decision = decisions.get(call["id"]) if step.resumed else None  # enforced here, in code
    if decision is not None and decision.get("approved") is True:
        return RunIt(call, found, arguments)
    if decision is not None:
        return AlreadyAnswered(call, answer(call, refused(found.name, decision.get("reason", "")), failed=True))
    if step.run.depth > 0:
        return AlreadyAnswered(call, answer(call, unavailable(found.name), failed=True))
    return AwaitApproval(call, PendingApproval(call["id"], found.name, call["function"]["arguments"], step.agent.name))


_NOTHING_SPENT = {"tokens": 0, "tool_calls": 0, "cost": 0.0}


def _check_not_moved_on(state: RunState, session: Any) -> None:
    last = next((m.get("content") for m in reversed(session.get_dialogs()) if m.get("role") == "user"), None)
    if last is not None and last != state.input:  # a run adds no user message but its own prompt
        raise UserError(f"The conversation moved on since this run paused (the last message is {last!r:.60}, the "
                        f"paused run answered {state.input!r:.60}), so it cannot be resumed: its calls never run. "
                        "Ask again.")


@dataclass(frozen=True)
class PendingApproval:
    """A tool call waiting for a human decision."""

    call_id: str
    tool_name: str
    arguments: str
    agent: str


@dataclass
class RunState:
    """A run paused for approval: the assistant message whose calls wait, and the decisions taken so far."""

    agent: str
    input: str
    message: dict
    pending: list[PendingApproval]
    usage: RunUsage = field(default_factory=RunUsage)
    chain: list[str] = field(default_factory=list)
    spent: dict[str, float] = field(default_factory=lambda: {"tokens": 0, "tool_calls": 0, "cost": 0.0})
    decisions: dict[str, dict] = field(default_factory=dict)
    nonce: str = ""  # set when the run pauses: names this paused step, whatever copy of it is resumed
    seal: str = ""  # HMAC of everything above but the decisions, with the application's approval key
    decisions_seal: str = ""  # HMAC of the decisions saved in the JSON (only when they were signed)
    offered: list[str] | None = None  # the tool names the paused step was offered (the others never run)
    session: str = ""  # the conversation it paused on: "store:<session_id>" or "memory:<token>" (see binding)
    tools: dict[str, str] = field(default_factory=dict)  # each pending tool's name -> its definition's fingerprint
    version: int = VERSION  # the format it was saved in (an older one is refused at resume)
    _key: bytes | None = field(default=None, repr=False, compare=False)
    _loaded_decisions: dict[str, dict] = field(default_factory=dict, repr=False, compare=False)

    @property
    def pending_approvals(self) -> list[PendingApproval]:
        """The calls this run waits on (decided or not), the same list as `result.pending_approvals`."""
        return list(self.pending)

    def approve(self, call_id: str) -> RunState:
        """Allow the pending call `call_id` to run."""
        self._decide(call_id, {"approved": True})
        return self

    def reject(self, call_id: str, reason: str = "") -> RunState:
        """Refuse the pending call `call_id`; the model is told it was refused (and why, if given)."""
        self._decide(call_id, {"approved": False, "reason": reason})
        return self

    def approve_all(self) -> RunState:
        for item in self.pending:
            self.approve(item.call_id)
        return self

    def _decide(self, call_id: str, decision: dict) -> None:
        if call_id not in {item.call_id for item in self.pending}:
            known = ", ".join(item.call_id for item in self.pending)
            raise UserError(f"No pending approval has call id {call_id!r}; pending: {known}.")
        self.decisions[call_id] = decision

    def undecided(self) -> list[PendingApproval]:
        """The pending calls not yet approved or rejected."""
        return [item for item in self.pending if item.call_id not in self.decisions]

    def to_json(self, approval_key: str | bytes | None = None) -> str:
        """The state as JSON, with its signature. Decisions taken already are signed too when the key is known
        (the state of a run paused in this process knows it; else pass `approval_key`)."""
        key = _key_bytes(approval_key) if approval_key is not None else self._key
        decisions_seal = _mac(key, [self.seal, self.decisions]) if key is not None and self.decisions else ""
        return json.dumps({**self._signed_part(), "seal": self.seal, "decisions": self.decisions,
                           "decisions_seal": decisions_seal})

    @classmethod
    def from_json(cls, text: str) -> RunState:
        """Load a saved state; it is checked against the approval key when it is resumed."""
        try:
            data = json.loads(text)
            if data.get("version") not in (2, VERSION):
                raise ValueError(f"version {data.get('version')!r}, expected {VERSION}")
            state = cls(data["agent"], data["input"], data["message"],
                        [PendingApproval(**p) for p in data["pending"]], RunUsage.from_dict(data["usage"]),
                        data["chain"], data["spent"], dict(data["decisions"]), data["nonce"], data["seal"],
                        data.get("decisions_seal", ""), data.get("offered"), data.get("session", ""),
                        dict(data.get("tools", {})), data["version"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UserError(f"Not a saved RunState ({exc}); pass the text of result.state.to_json().") from exc
        state._loaded_decisions = dict(state.decisions)
        return state

    def _signed_part(self) -> dict[str, Any]:
        bound = {"session": self.session, "tools": self.tools} if self.version >= 3 else {}
        return {"version": self.version, **bound, "nonce": self.nonce, "agent": self.agent, "input": self.input,
                "message": self.message, "pending": [vars(p) for p in self.pending], "usage": self.usage.to_dict(),
                "chain": self.chain, "spent": self.spent,
                **({"offered": self.offered} if self.offered is not None else {})}


def check_resumable(state: RunState, dialogs: list[dict]) -> None:
    """Refuse to resume with undecided calls, or a second time on the same session."""
    undecided = state.undecided()
    if undecided:
        raise UserError("Decide every pending call before resuming: "
                        + ", ".join(f"{p.call_id} ({p.tool_name})" for p in undecided)
                        + " -- use state.approve(call_id) or state.reject(call_id).")
    # Fail closed on a state edited after the pause: decisions only for pending calls, which must show
    # the human exactly the arguments that will run.
    sent = {call["id"]: call["function"]["arguments"] for call in state.message.get("tool_calls") or []}
    pending = {item.call_id: item.arguments for item in state.pending}
    if set(state.decisions) - set(pending) or any(sent.get(i) != arguments for i, arguments in pending.items()):
        raise UserError("This RunState does not match the step it paused on (edited after the pause?); "
                        "it cannot be resumed.")
    if state.message in dialogs:  # the waiting step is committed whole when it is resumed
        raise UserError("This RunState was already resumed on this session; each paused run resumes once.")


def resolve_key(key: str | bytes | None) -> bytes:
    """The approval key: the one given, else $AGENTSILEX_APPROVAL_KEY, else this process's random key."""
    if key is None:
        key = os.environ.get(KEY_VARIABLE) or None
    return _process_key if key is None else _key_bytes(key)


def _key_bytes(key: str | bytes) -> bytes:
    raw = key.encode("utf-8") if isinstance(key, str) else key
    if not isinstance(raw, bytes) or len(raw) < 16:
        raise UserError("approval_key must be a str or bytes of at least 16 characters (e.g. "
                        "secrets.token_hex(32), kept in your secret store).")
    return raw


def _mac(key: bytes | None, value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key or b"", text.encode("ascii"), hashlib.sha256).hexdigest()


def sign(state: RunState, key: bytes) -> RunState:
    """Name the paused step (its nonce) and sign it; the loop signs at the pause, before the session keeps it."""
    state.nonce, state._key = secrets.token_hex(16), key
    state.seal = _mac(key, state._signed_part())
    return state


def verify(state: RunState, key: bytes) -> None:
    """Refuse a state this application did not sign, or that was edited after it was signed."""
    unsigned = ("This RunState does not match its signature: it was edited after the pause, is unsigned, or was "
                "signed with another approval key. It cannot be resumed. To resume in another process, give both "
                f"the same Runner(approval_key=...) or ${KEY_VARIABLE}.")
    if state.version != VERSION:
        raise UserError(f"This RunState was saved by an older agentsilex (format {state.version}), before a paused "
                        "run was bound to its conversation and tools, so it cannot be resumed safely: its calls "
                        "never ran. Ask again (a new prompt drops it), and resume the new pause instead.")
    if not state.seal or not hmac.compare_digest(state.seal, _mac(key, state._signed_part())):
        raise UserError(unsigned)
    loaded = state._loaded_decisions
    if loaded and not hmac.compare_digest(state.decisions_seal, _mac(key, [state.seal, loaded])):
        raise UserError("The decisions saved in this RunState are not signed with the approval key (edited, or "
                        "saved without the key); take the decisions after loading it, or save it with "
                        "to_json(approval_key=...).")
    if any(not isinstance(value, (int, float)) or value < 0 for value in state.spent.values()):
        raise UserError("This RunState's spent budget is not valid; it cannot be resumed.")


def binding(session: Any, create: bool = False) -> str:
    """Which conversation `session` is: a store's session id, else the random token kept with the session's state
    (made at its first pause when `create`): a copy of the history in another object has none, or another."""
    if has_capabilities(session):
        return f"store:{session.session_id}"
    token = get_state(session, TOKEN)
    if token is None and create:
        token = secrets.token_hex(16)
        set_state(session, TOKEN, token)
    return f"memory:{token}" if token else ""


def check_session(state: RunState, session: Any) -> None:
    """Refuse to resume on another conversation than the one that paused (a copy of its history included)."""
    here = binding(session)
    if hmac.compare_digest(state.session.encode("utf-8"), here.encode("utf-8")):  # any session id: bytes
        return
    where = state.session.partition(":")
    paused = f"session {where[2]!r}" if where[0] == "store" else "an in-memory Session"
    this = f"session {here.partition(':')[2]!r}" if here.startswith("store:") else "another session object"
    raise UserError(f"This RunState paused on {paused}, not on this one ({this}): an approval is bound to the "
                    "conversation that paused, and a copy of its history is another conversation. Nothing ran. "
                    "Resume it with a Runner on the session that paused it.")


def definition(agent: Any, name: str, context: Any) -> str:
    """A fingerprint of the definition of `agent`'s tool `name` as the model and the human saw it (its name and
    JSON schema), or "gone"."""
    try:
        tool = agent.find_tool(name, context)
    except ToolError:
        return "gone"
    text = json.dumps([tool.name, tool.parameters], sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def check_tools(state: RunState, agent: Any, context: Any) -> None:
    """Refuse to run an approved call whose tool is gone or changed (name or JSON schema) since the pause."""
    for item in state.pending:
        if state.decisions.get(item.call_id, {}).get("approved") is not True:
            continue  # a refused call never runs: its tool may change
        now = definition(agent, item.tool_name, context)
        if not hmac.compare_digest(now, state.tools.get(item.tool_name, "")):
            change = "is gone" if now == "gone" else "changed (its name or JSON schema)"
            raise UserError(f"Tool {item.tool_name!r} {change} since this run paused, so the approval of call "
                            f"{item.call_id} no longer applies: nothing ran. Ask again, so a human approves the "
                            "call the tool takes now.")


def claim(state: RunState, session: Any) -> None:
    """Mark the step's approved calls as started, once per paused step whatever copy of state or session."""
    tokens = [f"{state.nonce}:{call_id}" for call_id, decision in sorted(state.decisions.items())
              if decision.get("approved") is True] or [f"{state.nonce}:step"]
    with _claimed_lock:
        if any(token in _claimed for token in tokens):
            raise _already()
        claim_in_store = getattr(session, "claim_once", None)
        if callable(claim_in_store) and not all([claim_in_store(token) for token in tokens]):
            raise _already()
        _claimed.update(tokens)
        _resumed.add(state.nonce)


def _already() -> UserError:
    return UserError("This RunState was already resumed (here, or on a copy or fork of the session); an approved "
                     "call runs at most once. Start a new run to do it again.")


def needs_approval(tool: Any, context: Any, arguments: dict) -> bool:
    """Whether this call must wait for a human; a decision function that fails means yes."""
    rule = getattr(tool, "needs_approval", False)
    if not callable(rule):
        return bool(rule)
    try:
        return bool(rule(context, arguments))
    except Exception:
        return True


def refused(tool_name: str, reason: str) -> str:
    return (f"Error: a human refused the call to {tool_name!r}" + (f": {reason}" if reason else "")
            + ". It did not run; do not try it again unchanged.")


def unavailable(tool_name: str) -> str:
    return (f"Error: {tool_name!r} needs human approval, which an agent used as a tool cannot ask for. "
            "It did not run.")
