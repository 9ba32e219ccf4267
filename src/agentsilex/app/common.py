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
from ..features.content import text_of
from ..result import RunResult
from ..runner import Runner

DEMO_MODEL = "demo"  # `--model demo`: the bundled scripted model (agentsilex.testing.demo), no API key
DEFAULT_STORE = "sqlite:///agentsilex_sessions.db"
CREATED_KEY = "agentsilex.created"  # session state: when a chat made the session (orders the session list)
PENDING_KEY = "agentsilex.pending"  # session state: the RunState of a run waiting for approval, as JSON


# -- the agent -------------------------------------------------------------------------------------------
def load_agent(spec: str) -> Agent:
    """The Agent named by `module:attribute` or `path/to/file.py:attribute` (the attribute defaults to `agent`).

    The one loader of every command (run, chat, serve, eval, `agentsilex mcp`, `python -m agentsilex.mcp`)."""
    found = load_object(spec)
    if not isinstance(found, Agent):
        raise UserError(f"{spec!r} is a {type(found).__name__}, not an Agent: point at an Agent(...) object.")
    return found


def load_object(spec: str, *, default: str = "agent") -> Any:
    """The object named by `module:attribute` or `path/to/file.py:attribute` (`default` when no attribute).

    A file inside a package (folders with `__init__.py`) is imported as that package's module, from the
    package's root folder, so it can import its own package; a lone file is imported from its folder."""
    target, _, attribute = spec.rpartition(":") if ":" in spec else (spec, "", default)
    attribute = attribute or default
    if not target or not re.fullmatch(r"[A-Za-z_][\w.]*", attribute):
        raise UserError(f"{spec!r} is not an agent path: use module:agent or path/to/file.py:agent.")
    module = _import_file(Path(target), spec) if _is_path(target) else _import_module(target, spec)
    found: Any = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            names = ", ".join(n for n, v in vars(module).items() if isinstance(v, Agent)) or "none"
            raise UserError(f"{target!r} has no attribute {attribute!r}; the Agents it defines: {names}.")
        found = getattr(found, part)
    return found


def _is_path(target: str) -> bool:
    return target.endswith(".py") or os.sep in target or "/" in target


def _import_module(target: str, spec: str) -> Any:
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # a console script does not look in the current folder by itself
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if exc.name and target.startswith(exc.name):
            raise UserError(f"No module named {exc.name!r} (from {spec!r}); run from the folder that holds it, "
                            "or give a file path: path/to/file.py:agent.") from None
        raise


def _import_file(path: Path, spec: str) -> Any:
    """Import a file by its module name: its package root (the first folder up without `__init__.py`) goes on
    sys.path, and `root/pkg/sub/file.py` is imported as `pkg.sub.file`, so `from pkg import ...` works in it."""
    if not path.is_file():
        raise UserError(f"No such file: {str(path)!r} (from {spec!r}).")
    path = path.resolve()
    root, parts = path.parent, ([] if path.stem == "__init__" else [path.stem])
    while (root / "__init__.py").is_file():
        root, parts = root.parent, [root.name, *parts]
    name = ".".join(parts)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))  # kept: the file's code may import its neighbours later, when it runs
    loaded = sys.modules.get(parts[0])
    if loaded is not None and not _comes_from(loaded, root / parts[0]):
        if len(parts) > 1:
            raise UserError(f"Cannot import {str(path)!r} as {name!r}: another module named {parts[0]!r} is "
                            f"already loaded (from {getattr(loaded, '__file__', None) or 'elsewhere'}); rename "
                            "the package.")
        return _import_by_path(path)  # a lone file named like a module already loaded (or the stdlib's)
    if len(parts) == 1 and (name in sys.stdlib_module_names or not name.isidentifier()):
        return _import_by_path(path)  # `json.py` or `my-agent.py`: not importable by that name
    return importlib.import_module(name)


def _comes_from(module: Any, where: Path) -> bool:
    """Whether `module` is the file `where.py` or the package in the folder `where`."""
    places = [getattr(module, "__file__", None), *getattr(module, "__path__", [])]
    wanted = {str(where) + ".py", str(where / "__init__.py"), str(where)}
    return any(place and str(Path(place).resolve()) in wanted for place in places)


def _import_by_path(path: Path) -> Any:
    name = f"_agentsilex_user_{path.stem}_{abs(hash(str(path))):x}"
    if name in sys.modules:
        return sys.modules[name]
    loader = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(loader)  # type: ignore[arg-type]
    sys.modules[name] = module  # before running it: dataclasses and pydantic look their module up
    try:
        loader.loader.exec_module(module)  # type: ignore[union-attr]
    except BaseException:
        del sys.modules[name]
        raise
    return module


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

        if backend_for(name) == "local":
            raise UserError(f"--base-url does not apply to {name!r}: local/ models run in this process, not on a "
                            "server. Drop --base-url, or name the model that server serves (e.g. --model "
                            "openai/<its model name>).")
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


def make_runner(session: Any, *, retries: int | None = None, conversation: bool = True) -> Runner:
    """The Runner every front end uses (retries as given, the defaults otherwise). It keeps the conversation's
    usage with the session (`conversation=True`), which `/usage` and the web page show."""
    return Runner(session, retry=RetryPolicy(max_retries=retries) if retries is not None else None,
                  conversation=conversation)


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
    """Requests and tokens (cached and cache-write tokens are part of the input, reasoning tokens part of the
    output; `estimated` when the server reported none), and the USD cost when LiteLLM knows the models' prices
    (`priced=False` skips it). Takes a run's usage or a conversation's."""
    return {"requests": usage.requests, "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens, "cached_input_tokens": usage.cached_input_tokens,
            "cache_write_tokens": usage.cache_write_tokens, "reasoning_tokens": usage.reasoning_tokens,
            "estimated": usage.estimated, "cost_usd": usage.cost_usd if priced else None}


def usage_line(usage: dict) -> str:
    """`usage_view` as one line: `2 requests · 1204 in (1024 cached) / 80 out (64 reasoning) tokens · $0.001200`."""
    parts_in = [f"{usage['cached_input_tokens']} cached"] if usage["cached_input_tokens"] else []
    parts_in += [f"{usage['cache_write_tokens']} cache writes"] if usage["cache_write_tokens"] else []
    tokens = (f"{usage['input_tokens']} in" + (f" ({', '.join(parts_in)})" if parts_in else "")
              + f" / {usage['output_tokens']} out"
              + (f" ({usage['reasoning_tokens']} reasoning)" if usage["reasoning_tokens"] else "")
              + " tokens" + (" (estimated)" if usage["estimated"] else ""))
    cost = usage["cost_usd"]
    price = f"${cost:.6f}" if cost is not None else "cost n/a"
    return f"{usage['requests']} request{'s' * (usage['requests'] != 1)} · {tokens} · {price}"


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
            "usage": usage_view(result.total_usage, priced=priced),  # the whole run, across approval pauses
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
