"""What the command line and the web chat share: finding the agent, picking its model, opening the session
store, plain-JSON views of events and results, and one-line error messages.

No dependency beyond the core: `agentsilex.cli` (Typer, Rich) and `agentsilex.web` (FastAPI) both build on it.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import os
import re
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from ..agent import Agent
from ..features.handoffs import handoffs_of
from ..errors import AgentsilexError, ModelAuthError, ModelError, SessionBusyError, UserError
from ..events import Event
from ..models.retry import RetryPolicy
from ..redaction import redact_url
from ..features.parts import text_of
from ..result import RunResult
from ..runner import Runner

DEMO_MODEL = "demo"  # `--model demo`: the bundled scripted model (agentsilex.testing.demo), no API key
DEFAULT_STORE = "sqlite:///agentsilex_sessions.db"
CREATED_KEY = "agentsilex.created"  # session state: when a chat made the session (orders the session list)
PENDING_KEY = "agentsilex.pending"  # session state: the RunState of a run waiting for approval, as JSON


# -- the agent -------------------------------------------------------------------------------------------
def load_agent(spec: str) -> Agent:
    """The Agent named by `module:attribute` or `path/to/file.py:attribute` (the attribute defaults to `agent`)."""
    target, _, attribute = spec.rpartition(":") if ":" in spec else (spec, "", "agent")
    attribute = attribute or "agent"
    if not target or not re.fullmatch(r"[A-Za-z_][\w.]*", attribute):
        raise UserError(f"{spec!r} is not an agent path: use module:agent or path/to/file.py:agent.")
    module = _import_target(target, spec)
    found: Any = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            names = ", ".join(n for n, v in vars(module).items() if isinstance(v, Agent)) or "none"
            raise UserError(f"{target!r} has no attribute {attribute!r}; the Agents it defines: {names}.")
        found = getattr(found, part)
    if not isinstance(found, Agent):
        raise UserError(f"{spec!r} is a {type(found).__name__}, not an Agent: point at an Agent(...) object.")
    return found


def _import_target(target: str, spec: str) -> Any:
    if target.endswith(".py") or os.sep in target or "/" in target:
        path = Path(target)
        if not path.is_file():
            raise UserError(f"No such file: {target!r} (from {spec!r}).")
        name = f"_agentsilex_user_{path.stem}"
        loader = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(loader)  # type: ignore[arg-type]
        sys.modules[name] = module  # before running it: dataclasses and pydantic look their module up
        sys.path.insert(0, str(path.resolve().parent))  # so the file can import its neighbours
        try:
            loader.loader.exec_module(module)  # type: ignore[union-attr]
        except BaseException:
            del sys.modules[name]
            raise
        finally:
            sys.path.remove(str(path.resolve().parent))
        return module
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # a console script does not look in the current folder by itself
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if exc.name and target.startswith(exc.name):
            raise UserError(f"No module named {exc.name!r} (from {spec!r}); run from the folder that holds it, "
                            "or give a file path: path/to/file.py:agent.") from None
        raise


def with_model(agent: Agent, model: str | None, *, base_url: str | None = None) -> Agent:
    """`agent` with its model replaced (`--model`): a model string, or `demo` for the offline scripted model."""
    if not model and not base_url:
        return agent
    if model == DEMO_MODEL:
        from ..testing.demo import DemoModel

        return agent.clone(model=DemoModel())
    name = model or (agent.model if isinstance(agent.model, str) else None)
    if name is None:
        raise UserError(f"--base-url needs a model name: agent {agent.name!r} has a {type(agent.model).__name__}; "
                        "add --model.")
    if base_url:  # the path the string takes anyway (models.routing), aimed at that server
        from ..models.routing import backend_for, build_model

        return agent.clone(model=build_model(name, backend_for(name), base_url=base_url))
    return agent.clone(model=name)


def check_environment(agent: Agent) -> None:
    """Fail before the first call when a model string needs an API key that is not set (says which)."""
    names = {a.model for a in reachable_agents(agent) if isinstance(a.model, str)}
    if not names or os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_BASE"):
        return  # a custom endpoint decides for itself whether it needs a key
    from ..models.routing import backend_for

    for name in sorted(names):
        if backend_for(name) == "local":  # in process: no key
            continue
        if backend_for(name) == "native":  # OpenAI's wire format: no need to load LiteLLM to know the key
            missing = [] if os.environ.get("OPENAI_API_KEY") else ["OPENAI_API_KEY"]
        else:
            from ..models.litellm import load_litellm

            try:
                missing = load_litellm().validate_environment(model=name.removeprefix("litellm/")) \
                    .get("missing_keys") or []
            except Exception:  # an unknown provider: let the call itself report
                continue
        if missing:
            keys = " or ".join(missing)
            raise ModelAuthError(f"Model {name!r} needs {keys}: export {missing[0]}=... (or try it offline with "
                                 "--model demo).", model=name, status_code=401)


def reachable_agents(agent: Agent) -> list[Agent]:
    """The agent and every agent it can hand off to."""
    seen: dict[int, Agent] = {}
    todo = [agent]
    while todo:
        current = todo.pop()
        if id(current) not in seen:
            seen[id(current)] = current
            todo.extend(h.agent for h in handoffs_of(current))
    return list(seen.values())


def make_runner(session: Any, *, retries: int | None = None) -> Runner:
    """The Runner both front ends use (retries as given, the defaults otherwise)."""
    return Runner(session, retry=RetryPolicy(max_retries=retries) if retries is not None else None)


# -- sessions ----------------------------------------------------------------------------------------------
class Store:
    """Opens sessions by id in one persistent store: `sqlite:///file.db` (or a path), `redis://...`, or any
    SQLAlchemy URL (`postgresql://...`)."""

    def __init__(self, url: str = DEFAULT_STORE) -> None:
        self.url = url
        self._open: Callable[[str], Any]
        if url.startswith("sqlite:///") or "://" not in url:
            from ..stores.sqlite import SQLiteSession

            path = url.removeprefix("sqlite:///") or "agentsilex_sessions.db"
            self._open = lambda session_id: SQLiteSession(session_id, path)
        elif url.startswith(("redis://", "rediss://", "unix://")):
            import redis

            from ..stores.redis import RedisSession

            client = redis.Redis.from_url(url)  # one connection pool for every session
            self._open = lambda session_id: RedisSession(session_id, client=client)
        else:
            from ..stores.sqlalchemy import SQLAlchemySession

            self._open = lambda session_id: SQLAlchemySession(session_id, url=url)

    def session(self, session_id: str) -> Any:
        """The session `session_id` (empty if it does not exist yet)."""
        return self._open(session_id)

    def create(self, session_id: str | None = None) -> Any:
        """A session that shows in `list()` from now on, even before its first message."""
        session = self._open(session_id or new_session_id())
        if session.get_state(CREATED_KEY) is None:
            session.set_state(CREATED_KEY, datetime.now(timezone.utc).isoformat(timespec="microseconds"))
        return session

    def exists(self, session_id: str) -> bool:
        return session_id in self.ids()

    def ids(self) -> list[str]:
        return self._open("_").list_sessions()

    def list(self) -> list[dict]:
        """Every session, newest first: id, title (its first question), message count, created."""
        rows = []
        for session_id in self.ids():
            session = self._open(session_id)
            messages = session.get_dialogs()
            first = next((m.get("content") for m in messages if m.get("role") == "user"), None)
            rows.append({"id": session_id, "title": _title(first) or session_id, "messages": len(messages),
                         "created": session.get_state(CREATED_KEY) or ""})
        return sorted(rows, key=lambda row: (row["created"], row["id"]), reverse=True)

    def delete(self, session_id: str) -> None:
        self._open(session_id).delete_session()


def new_session_id() -> str:
    return "chat-" + uuid.uuid4().hex[:8]


def _title(text: Any) -> str:
    text = " ".join(text_of(text).split())  # content parts as labels, never their bytes
    return text if len(text) <= 60 else text[:59] + "…"


def save_pending(session: Any, result: RunResult) -> None:
    """Keep a paused run's state with the session (so a reload, or another process, can decide and resume)."""
    session.set_state(PENDING_KEY, result.state.to_json() if result.pending_approvals else None)


# -- plain JSON views -----------------------------------------------------------------------------------------
def jsonable(value: Any) -> Any:
    """A JSON-safe copy: pydantic models dumped, dataclasses as dicts, anything else as its str."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    return str(value)


def usage_view(usage: Any, *, priced: bool = True) -> dict:
    """Tokens and requests, and the USD cost when LiteLLM knows the models' prices (`priced=False` skips it)."""
    return {"requests": usage.requests, "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens, "cost_usd": usage.cost_usd if priced else None}


def needs_prices(agent: Agent) -> bool:
    """Whether a cost can be known: not when every model is one of agentsilex's offline test models (which
    also spares importing LiteLLM for the demo)."""
    from ..testing.script import FunctionModel, ScriptedModel

    return any(not isinstance(a.model, (FunctionModel, ScriptedModel)) for a in reachable_agents(agent))


def result_view(result: RunResult, *, priced: bool = True) -> dict:
    """A RunResult as plain JSON (`agentsilex run --json`, the web API's final event)."""
    return {"input": result.input, "final_output": jsonable(result.final_output),
            "last_agent": result.last_agent.name, "new_messages": jsonable(result.new_messages),
            "function_calls": [{"call_id": c.call_id, "name": c.name, "arguments": c.arguments, "content": c.content,
                                "error": c.error} for c in result.function_calls],
            "usage": usage_view(result.usage, priced=priced),
            "pending_approvals": [jsonable(p) for p in result.pending_approvals],
            "state": json.loads(result.state.to_json()) if result.state is not None else None}


SHOWN_EVENTS = {"partial_output", "tool_call", "tool_response", "agent_handoff", "final_result"}


def event_view(event: Event, *, priced: bool = True) -> dict | None:
    """An event as plain JSON for a front end, or None for the ones it does not show (raw chunks, deltas)."""
    if event.type not in SHOWN_EVENTS:
        return None
    if event.type == "final_result":
        return {"type": "final_result", **result_view(event.result, priced=priced)}
    data = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    return {"type": event.type, **jsonable(data)}


# -- errors -------------------------------------------------------------------------------------------------
def describe_error(error: BaseException, *, base_url: str | None = None) -> str:
    """One line for a person: what went wrong and what to do (no traceback)."""
    text = " ".join(str(error).split())
    if isinstance(error, SessionBusyError):
        return f"Session busy: {text}"
    if isinstance(error, ModelError) and _unreachable(error):
        where = redact_url(base_url or os.environ.get("OPENAI_BASE_URL")) or "the model's server"
        return (f"Cannot reach {where} for model {error.model!r}: is the server running, and is the base URL "
                "(--base-url or OPENAI_BASE_URL) right?")
    if isinstance(error, AgentsilexError):
        return text
    return f"{type(error).__name__}: {text}"


def _unreachable(error: ModelError) -> bool:
    # LiteLLM reports a refused connection as APIConnectionError, or as a 500 saying "Connection error."
    return any(word in str(error) for word in ("APIConnectionError", "Connection error", "Connection refused",
                                               "ConnectError", "Cannot connect", "Name or service not known"))
