"""Durable agent runs on DBOS (extra `dbos`): no server, checkpoints in the SQLite or PostgreSQL you already use.

    durable = AgentsilexDBOS(agents=[agent], store="sqlite:///sessions.db")     # before DBOS.launch()
    DBOS(config={"name": "agents", "system_database_url": "sqlite:///sessions.db"})
    DBOS.launch()                                             # recovers this executor's unfinished runs
    handle = await durable.start_run(agent, "Hi", session_id="alice")
    result = await handle.result()

The same durable driver as on Temporal (driver.py): the agent loop is a DBOS workflow (`agentsilex.run`) and each
model and tool call a DBOS step, checkpointed when it completes; a process that dies mid-run is recovered by the
next one that launches with the same executor id, and every completed step is taken from its checkpoint. What
DBOS open source does not do: move a dead process's runs to another executor (that needs DBOS Conductor, its own
service), or run one workflow's steps on several machines. docs/durable.md says more.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from dbos import DBOS, SetWorkflowID

from ..errors import AgentsilexError, UserError
from ..result import RunResult
from . import codec
from .driver import DurableDriver, run_spec
from .steps import BLOB_KEY, Steps
from .stream import HandleBase

__all__ = ["AgentsilexDBOS", "DBOSRunHandle", "DurableRunner", "start_run", "get_run", "WORKFLOW"]
WORKFLOW = "agentsilex.run"
DECIDE = "agentsilex.decide"  # the topic of the messages that approve or reject a waiting call
_settings: dict[str, Any] = {"steps": None, "options": {}, "owner": None}


class AgentsilexDBOS:
    """Durable runs of `agents` on DBOS, their sessions in `store`; `runner`: Runner options for every run."""

    def __init__(self, agents: list[Any], store: str, *, runner: dict[str, Any] | None = None) -> None:
        if not agents:
            raise UserError("AgentsilexDBOS(agents=[...]) needs the agents it runs.")
        self.steps = Steps(list(agents), store)
        _settings.update(steps=self.steps, options=dict(runner or {}), owner=self)
        # Open the store now: a SQLite file shared with DBOS's checkpoints is switched to WAL before DBOS opens it.
        self.steps.store.session("agentsilex")

    async def start_run(self, agent: Any, prompt: Any, *, session_id: str, stream: bool = True,
                        context: dict | None = None, max_turns: int | None = None) -> DBOSRunHandle:
        """Start a durable run of `agent` on the stored session `session_id` (DBOS must be launched)."""
        run_id = uuid.uuid4().hex
        spec = run_spec(agent, prompt, session_id, run_id=run_id, stream=stream, context=context,
                        max_turns=max_turns)
        session = self.steps.store.session(session_id)
        spec["prompt"] = codec.offload(spec["prompt"], lambda key, text: session.set_state(BLOB_KEY + key, text))
        with SetWorkflowID(f"agentsilex-{session_id}-{run_id[:12]}"):
            handle = await DBOS.start_workflow_async(_run, spec)
        return DBOSRunHandle(handle.get_workflow_id(), self, session_id, run_id)

    async def get_run(self, workflow_id: str) -> DBOSRunHandle:
        """The run with this workflow id (`handle.id`), from this or another process on the same databases."""
        status = await DBOS.get_workflow_status_async(workflow_id)
        if status is None:
            raise UserError(f"No DBOS workflow {workflow_id!r}.")
        spec = (status.input or {}).get("args", [{}])[0] if isinstance(status.input, dict) else {}
        return DBOSRunHandle(workflow_id, self, spec.get("session_id", ""), spec.get("run_id", ""))


async def start_run(agent: Any, prompt: Any, *, session_id: str, stream: bool = True, context: dict | None = None,
                    max_turns: int | None = None) -> DBOSRunHandle:
    """`AgentsilexDBOS.start_run` of the AgentsilexDBOS made in this process."""
    return await _owner().start_run(agent, prompt, session_id=session_id, stream=stream, context=context,
                                    max_turns=max_turns)


async def get_run(workflow_id: str) -> DBOSRunHandle:
    """`AgentsilexDBOS.get_run` of the AgentsilexDBOS made in this process."""
    return await _owner().get_run(workflow_id)


class DurableRunner:
    """Runs agents durably inside your own DBOS workflow: `result = await DurableRunner("alice").run(agent, p)`; each
    model and tool call is a step of your workflow. Approvals wait on DBOS messages with topic `agentsilex.decide`.
    Outside a workflow it raises UserError, unless `allow_outside_workflow=True` (then a plain Runner)."""

    def __init__(self, session_id: str, context: dict | None = None, *, stream: bool = False,
                 allow_outside_workflow: bool = False, **options: Any) -> None:
        self.session_id, self.context, self.stream, self.options = session_id, context or {}, stream, options
        self.allow_outside_workflow = allow_outside_workflow
        self.runs = 0

    async def run(self, agent: Any, prompt: Any) -> RunResult:
        owner = _owner()
        if DBOS.workflow_id is None:
            if not self.allow_outside_workflow:
                raise UserError("DurableRunner.run() was called outside a DBOS workflow, where it would not be "
                                "durable. Call it from a @DBOS.workflow() function, use start_run(...), or pass "
                                "DurableRunner(..., allow_outside_workflow=True) to run it as a plain Runner.")
            from ..runner import Runner

            session = owner.steps.store.session(self.session_id)
            return await Runner(session, self.context, **self.options).run_async(agent, prompt)
        self.runs += 1
        spec = run_spec(agent, prompt, self.session_id, run_id=f"{DBOS.workflow_id}.{self.runs}", stream=self.stream,
                        context=self.context, max_turns=None)
        data = await DurableDriver(_Ops(), spec, agent, {**_settings["options"], **self.options}).run()
        return codec.result_from_data(data, owner.steps.agents)


def _owner() -> AgentsilexDBOS:
    if _settings["owner"] is None:
        raise UserError("No AgentsilexDBOS in this process: create AgentsilexDBOS(agents=[...], store=...) before "
                        "DBOS.launch().")
    return _settings["owner"]


class DBOSRunHandle(HandleBase):
    """A durable run on DBOS: its result, its live events (`events()`), the approvals it waits for."""

    def __init__(self, workflow_id: str, owner: AgentsilexDBOS, session_id: str, run_id: str) -> None:
        self.id, self.owner, self.session_id, self.run_id = workflow_id, owner, session_id, run_id
        self.steps = owner.steps

    async def result(self) -> RunResult:
        data = await (await DBOS.retrieve_workflow_async(self.id)).get_result()
        if "error" in data:
            raise codec.error_from_data(data["error"])
        return codec.result_from_data(data, self.steps.agents)

    async def approve(self, call_id: str) -> None:
        await DBOS.send_async(self.id, {"call_id": call_id, "approved": True}, DECIDE)

    async def reject(self, call_id: str, reason: str = "") -> None:
        await DBOS.send_async(self.id, {"call_id": call_id, "approved": False, "reason": reason}, DECIDE)


class _Ops:
    """The durable driver's steps as DBOS steps, its waits as DBOS messages (driver.Ops)."""

    async def step(self, name: str, payload: dict, *, timeout: float | None = None) -> dict:
        done = await _STEPS[name](payload)
        if "failed" in done:
            raise codec.error_from_data(done["failed"])
        return done

    async def decisions(self, waiting: list[str], decided: dict[str, dict]) -> None:
        while not all(call_id in decided for call_id in waiting):
            message = await DBOS.recv_async(DECIDE, timeout_seconds=24 * 3600)
            if isinstance(message, dict) and message.get("call_id") in waiting:
                decided[str(message["call_id"])] = {"approved": bool(message.get("approved")),
                                                    "reason": str(message.get("reason") or "")}

    def unrestricted(self) -> Any:
        return contextlib.nullcontext()


@DBOS.workflow(name=WORKFLOW)
async def _run(spec: dict) -> dict:
    steps = _steps()
    agent = steps.agent(spec["agent"])
    options = {**_settings["options"], **({"max_turns": spec["max_turns"]} if spec.get("max_turns") else {})}
    try:
        return await DurableDriver(_Ops(), spec, agent, options).run()
    except codec.AgentChangedError:
        raise
    except AgentsilexError as exc:  # the run's own failure: recorded as its result, raised by handle.result()
        return {"error": codec.error_to_data(exc)}


def _steps() -> Steps:
    if _settings["steps"] is None:
        raise UserError("No AgentsilexDBOS in this process: create AgentsilexDBOS(agents=[...], store=...) before "
                        "DBOS.launch(), so recovered runs find their agents.")
    return _settings["steps"]


async def _as_data(work: Any) -> dict:
    """A step's agentsilex error as data (checkpointed as is; the workflow raises it again)."""
    try:
        return await work
    except AgentsilexError as exc:
        return {"failed": codec.error_to_data(exc)}


@DBOS.step(name="agentsilex.begin")
async def _begin(payload: dict) -> dict:
    return await _as_data(_steps().begin(payload))


@DBOS.step(name="agentsilex.model")
async def _model(payload: dict) -> dict:
    return await _as_data(_steps().model(payload))


@DBOS.step(name="agentsilex.tool")
async def _tool(payload: dict) -> dict:
    return await _as_data(_steps().tool(payload))


@DBOS.step(name="agentsilex.finish")
async def _finish(payload: dict) -> dict:
    return await _as_data(_steps().finish(payload))


_STEPS = {"begin": _begin, "model": _model, "tool": _tool, "finish": _finish}
