"""What the workers do for a durable run: every I/O, as steps the engine records (temporal.py: activities; dbos.py:
DBOS steps). Engine-neutral: each takes and returns plain dicts (driver.py builds them).

- `begin`: the stored history's length and digest (the workflow never reads the history), the state the run's
  capabilities read, and the agents' fingerprint echoed back (recorded: a replay compares it with the code's).
- every step first commits what the loop stored since the last one, checked by place: the session must hold
  exactly the `expect` messages the workflow knows (by digest), or those plus this very commit (a retry: nothing
  is written twice); anything else means the session changed under the run, which is never retried.
- `model`: the request with the stored history put back in (checked by digest), agentsilex's own retries and
  fallbacks (the engine retries only crashes and timeouts), streamed events written as they come.
- `tool`: one tool call, `current_tool_call()` set, its error returned as data; a large result is kept in the store
  and passed on as a reference (codec.offload).
- `finish`: the last commit, the result for the watchers, and this run's large strings removed from the store.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

from ..agent import reachable
from ..engine.capability import RUNNING, ModelCall
from ..engine.tool_calls import Limits
from ..errors import UserError
from ..history import repair_history
from ..models import ModelRequest, ModelSettings, resolve_model
from ..models.retry import RetryPolicy
from . import codec, events
from .codec import SessionChangedError
from .session import STATE_KEYS

BLOB_KEY = "agentsilex.blob."


class Steps:
    """The steps of durable runs of `agents`, their sessions in the store at `store` (a URL, as `--store` takes)."""

    def __init__(self, agents: list[Any], store: str, *, blob_threshold: int = codec.BLOB_THRESHOLD) -> None:
        from ..app.common import Store

        self.agents = index_agents(agents)
        self.store, self.blob_threshold = Store(store), blob_threshold

    def agent(self, name: str) -> Any:
        found = self.agents.get(name)
        if found is None:
            raise UserError(f"No agent named {name!r} on this worker (it has {', '.join(sorted(self.agents))}): "
                            "give AgentsilexPlugin(agents=[...]) the same agents everywhere.")
        return found

    # -- the steps ---------------------------------------------------------------------------------------
    async def begin(self, payload: dict) -> dict:
        def read() -> dict:
            session = self.store.session(payload["session_id"])
            events.clear_previous(session, payload["run_id"])
            stored = session.get_dialogs()
            state = {key: session.get_state(key) for key in STATE_KEYS}
            return {"count": len(stored), "digest": codec.digest(stored), "fingerprint": payload["fingerprint"],
                    "state": {k: v for k, v in state.items() if v is not None}}

        return await asyncio.to_thread(read)

    async def model(self, payload: dict, attempt: int = 1) -> dict:
        session, stored, reference = await asyncio.to_thread(self._commit, payload)
        agent = self.agent(payload["agent"])
        models = [resolve_model(m) for m in (agent.model, *agent.fallback_models)]
        first = next((m for m in models if getattr(m, "name", None) == payload["model"]), models[0])
        fallbacks = [m for m in models if m is not first] if first is models[0] else []
        call = ModelCall(first, self._request(payload, stored), agent, quiet=payload["quiet"], fallbacks=fallbacks)
        limits = Limits(retry=RetryPolicy(**payload["retry"]) if payload.get("retry") else RetryPolicy())
        from ..engine.drivers_async import call_model_async

        streamer = None
        if payload["stream_batch"] is not None:
            streamer = events.Streamer(session, payload["run_id"], payload["stream_batch"], attempt)
        async for item in call_model_async(call, limits, payload["stream"]):
            if not hasattr(item, "message"):
                if streamer is not None and item.type != "raw_chunk":  # the provider's chunks stay here
                    await streamer.add(codec.event_to_data(item))
                continue
            response = item
        if streamer is not None:
            await streamer.flush(True)
        return {"response": codec.response_to_data(response), **reference}

    async def tool(self, payload: dict) -> dict:
        from ..tool_call import ToolCallInfo

        reference = {}
        if "expect" in payload:
            _, _, reference = await asyncio.to_thread(self._commit, payload)
        agent = self.agent(payload["agent"])
        context = payload.get("context") or {}
        found = agent.find_tool(payload["tool"], context)
        RUNNING.set(ToolCallInfo(payload["call_id"], found.name, payload["key"], payload["step"]))
        try:
            async with asyncio.timeout(payload.get("timeout")):
                arguments = found.parse_arguments(payload["arguments"])
                if found.is_async:
                    value = await found.invoke(arguments, context)
                else:  # a thread of its own, in a copy of this context (current_tool_call): the loop goes on
                    value = await asyncio.to_thread(found.invoke, arguments, context)
                if hasattr(value, "__await__"):
                    value = await value
        except Exception as exc:  # returned as data: the loop answers the model with it, nothing is retried
            return {"error": codec.error_to_data(exc), **reference}
        return {"value": await asyncio.to_thread(self._kept, payload["session_id"], value), **reference}

    async def finish(self, payload: dict) -> dict:
        def end() -> dict:
            session, _, reference = self._commit(payload)
            if "result" in (payload.get("publish") or {}):
                events.finished(session, payload["run_id"], payload["batches"])
                for blob in payload.get("blobs", []):
                    session.set_state(BLOB_KEY + blob[len(codec.BLOB):], None)
            return reference

        return await asyncio.to_thread(end)

    # -- helpers -------------------------------------------------------------------------------------------
    def _commit(self, payload: dict) -> tuple[Any, list[dict], dict]:
        """Commit the loop's pending step (idempotent by place) and publish the events; return the session, its
        messages and the new reference {"count", "digest"}."""
        session = self.store.session(payload["session_id"])
        release = session.acquire_writer(session.lock_timeout)
        try:
            stored, expect, commit = session.get_dialogs(), payload["expect"], payload.get("commit")
            if len(stored) < expect or codec.digest(stored[:expect]) != payload["digest"]:
                raise _changed(payload["session_id"], "its history is not the one this run read")
            if commit:
                messages = codec.restore(commit["messages"], lambda key: self._blob(session, key))
                if len(stored) == expect:
                    session.add_new_messages(messages)
                    stored = [*stored, *messages]
                elif stored[expect:] != messages:  # equal: this step ran before and was retried
                    raise _changed(payload["session_id"], "another run wrote to it")
                for name, value in commit["state"].items():
                    session.set_state(name, value)
            if payload.get("publish"):
                batch = dict(payload["publish"])
                events.write(session, payload["run_id"], batch.pop("batch"), batch)
        finally:
            release()
        done = len(stored) if commit else expect
        return session, stored, {"count": done, "digest": codec.digest(stored[expect:done], payload["digest"])}

    def _request(self, payload: dict, stored: list[dict]) -> ModelRequest:
        count = payload["count"]
        if count > len(stored):
            raise _changed(payload["session_id"], "it holds fewer messages than this run stored")
        fetch = self._fetcher(payload["session_id"])
        history = repair_history(list(stored[:count]))
        timeout, idle, connect = payload["timeouts"]
        return ModelRequest([*payload["head"], *history, *codec.restore(payload["tail"], fetch)], payload["tools"],
                            ModelSettings(**payload["settings"]), payload["response_format"], timeout, idle, connect,
                            payload["output_mode"])

    def _fetcher(self, session_id: str) -> Callable[[str], str]:
        session = self.store.session(session_id)
        return lambda key: self._blob(session, key)

    @staticmethod
    def _blob(session: Any, key: str) -> str:
        text = session.get_state(BLOB_KEY + key)
        if not isinstance(text, str):
            raise _changed(session.session_id, f"a large tool result it kept ({key[:12]}...) is gone")
        return text

    def _kept(self, session_id: str, value: Any) -> Any:
        """A tool's value as the loop records it (text, or content parts), large strings kept in the store."""
        from .. import messages
        from ..features.content import has_parts

        plain = codec.plain(_parts_as_dicts(value)) if has_parts(value) else messages.to_text(value)
        session = self.store.session(session_id)
        return codec.offload(plain, lambda key, text: session.set_state(BLOB_KEY + key, text), self.blob_threshold)


def _parts_as_dicts(value: Any) -> Any:
    items = value if isinstance(value, (list, tuple)) else [value]
    plain = [item.part() if hasattr(item, "part") else item for item in items]
    return plain if isinstance(value, (list, tuple)) else plain[0]


def _changed(session_id: str, why: str) -> SessionChangedError:
    return SessionChangedError(f"Session {session_id!r} changed under this durable run ({why}); the run stops and "
                               "stores nothing more. Start a new run on the session as it is now.")


def index_agents(agents: list[Any]) -> dict[str, Any]:
    """Every agent a run of these may reach, by name (two different agents may not share a name)."""
    found: dict[str, Any] = {}
    for agent in agents:
        for each in reachable(agent):
            if found.setdefault(each.name, each) is not each and codec.fingerprint(found[each.name]) != \
                    codec.fingerprint(each):
                raise UserError(f"Two different agents are named {each.name!r}; durable runs find agents by name.")
    return found
