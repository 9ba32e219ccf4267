"""Durable agent runs on Temporal (extra `temporal`): any number of workers, a worker lost loses nothing.

    plugin = AgentsilexPlugin(agents=[agent], store="sqlite:///sessions.db")
    client = await Client.connect("127.0.0.1:7233", plugins=[plugin])
    worker = Worker(client, task_queue="agents")              # in each worker process: await worker.run()
    handle = await start_run(client, agent, "Hi", session_id="alice", task_queue="agents")
    async for event in handle.events(): ...                   # the same Events as run_stream_async, live
    result = await handle.result()                             # a RunResult, as Runner.run returns

The plugin registers one workflow, `agentsilex.run`, and its activities (temporal_workflow.py). A run waiting for
approval is a workflow waiting on a signal (`handle.approve(call_id)`, `handle.reject(call_id, reason)`): it holds
no process. `DurableRunner` runs an agent the same way inside your own workflows. The sessions live in the store
(`store=`, a URL as `agentsilex serve --store` takes), which every worker and client must reach. Guarantees,
limits and costs: docs/durable.md.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from temporalio import workflow
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.plugin import SimplePlugin

from ..errors import SessionBusyError, UserError
from ..result import RunResult
from . import codec
from .driver import DurableDriver, run_spec
from .steps import Steps
from .stream import DurableStream, HandleBase
from .temporal_workflow import (DECIDE, WORKFLOW, AgentRun, PayloadTooLargeError, WorkflowOps, activities,
                                passing_through, record_decision, settings)

__all__ = ["AgentsilexPlugin", "start_run", "get_run", "RunHandle", "DurableRunner", "PayloadTooLargeError",
           "AgentChangedError", "WORKFLOW"]
AgentChangedError = codec.AgentChangedError


class AgentsilexPlugin(SimplePlugin):
    """Registers agentsilex's workflow and activities on a Temporal client and its workers.

    `agents`: every agent a run may start with (the ones they hand off to or use as tools are found from them);
    `store`: where the sessions live; `heartbeat_timeout`: seconds after which a silent worker's step moves to
    another worker; `runner`: Runner options for every run (max_turns, limits, timeouts, retry, capabilities,
    hooks, ...); `model_timeout` / `tool_timeout`: the longest one model call (with its retries) or one tool call
    without its own timeout may take, in seconds."""

    def __init__(self, agents: list[Any], store: str, *, heartbeat_timeout: float = 30.0,
                 runner: dict[str, Any] | None = None, model_timeout: float = 1800.0,
                 tool_timeout: float = 3600.0) -> None:
        if not agents:
            raise UserError("AgentsilexPlugin(agents=[...]) needs the agents its workers run.")
        self.steps = Steps(list(agents), store)
        self.store = store
        settings["agents"].update(self.steps.agents)
        settings.update(options=dict(runner or {}), heartbeat=float(heartbeat_timeout), store=store,
                        model_timeout=float(model_timeout), tool_timeout=float(tool_timeout))
        super().__init__("agentsilex", activities=activities(self.steps), workflows=[AgentRun],
                         workflow_runner=passing_through)


async def start_run(client: Client, agent: Any, prompt: Any, *, session_id: str, task_queue: str,
                    workflow_id: str | None = None, stream: bool = True, context: dict | None = None,
                    max_turns: int | None = None) -> RunHandle:
    """Start a durable run of `agent` on the stored session `session_id`; one run at a time per session (another
    one raises SessionBusyError). `stream`: model replies stream, so `handle.events()` shows tokens."""
    plugin = _plugin_of(client)
    run_id = uuid.uuid4().hex
    spec = run_spec(agent, prompt, session_id, run_id=run_id, stream=stream, context=context, max_turns=max_turns)
    session = plugin.steps.store.session(session_id)
    spec["prompt"] = await asyncio.to_thread(codec.offload, spec["prompt"], _keeper(session))
    try:
        handle = await client.start_workflow(WORKFLOW, spec, id=workflow_id or workflow_id_for(session_id),
                                             task_queue=task_queue, memo={"agentsilex_run_id": run_id})
    except WorkflowAlreadyStartedError:
        raise SessionBusyError(f"Session {session_id!r} has a durable run already (waiting for approval, or still "
                               "running): wait for it with get_run(client, session_id), or decide its approvals.",
                               session_id=session_id) from None
    return RunHandle(handle, plugin, session_id, run_id)


async def get_run(client: Client, session_id: str, *, workflow_id: str | None = None) -> RunHandle:
    """The durable run on `session_id` (running, waiting for approval, or the last one that ended)."""
    from temporalio.service import RPCError, RPCStatusCode

    handle = client.get_workflow_handle(workflow_id or workflow_id_for(session_id))
    try:
        memo = await (await handle.describe()).memo()  # answered by the server: no worker needs to be up
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        raise UserError(f"No durable run on session {session_id!r} (workflow {handle.id!r}); start one with "
                        "start_run(client, agent, prompt, session_id=...).") from None
    return RunHandle(handle, _plugin_of(client), session_id, str(memo.get("agentsilex_run_id", "")))


def workflow_id_for(session_id: str) -> str:
    return f"agentsilex-{session_id}"


class RunHandle(HandleBase):
    """A durable run seen from a client: its result, its live events (`events()`), the approvals it waits for."""

    def __init__(self, handle: WorkflowHandle, plugin: AgentsilexPlugin, session_id: str, run_id: str) -> None:
        self.workflow, self.plugin, self.session_id, self.run_id = handle, plugin, session_id, run_id
        self.steps = plugin.steps

    @property
    def id(self) -> str:
        return self.workflow.id

    async def result(self) -> RunResult:
        """Wait for the end of the run (across pauses for approval); raise its error as the same agentsilex class."""
        try:
            data = await self.workflow.result()
        except WorkflowFailureError as exc:
            raise _error_of(exc) from None
        return codec.result_from_data(data, self.steps.agents)

    async def approve(self, call_id: str) -> None:
        """Let the waiting call `call_id` run."""
        await self.workflow.signal(DECIDE, {"call_id": call_id, "approved": True})

    async def reject(self, call_id: str, reason: str = "") -> None:
        """Refuse the waiting call `call_id`; the model is told (with `reason`)."""
        await self.workflow.signal(DECIDE, {"call_id": call_id, "approved": False, "reason": reason})


def web_runs(client: Client, agent: Any, task_queue: str) -> Any:
    """What `agentsilex serve --temporal` runs a chat message with: `runs(session, prompt)` gives a DurableStream;
    a RunState prompt (the page's decisions) is sent to the paused run as signals, and the stream goes on from there."""
    async def started(session_id: str, prompt: Any) -> tuple[RunHandle, int]:
        return await start_run(client, agent, prompt, session_id=session_id, task_queue=task_queue), 0

    async def resumed(session_id: str, state: Any) -> tuple[RunHandle, int]:
        handle = await get_run(client, session_id)
        skip = await handle.pauses()  # counted before the decisions: the stream starts after this pause
        for call_id, decision in state.decisions.items():
            if decision.get("approved"):
                await handle.approve(call_id)
            else:
                await handle.reject(call_id, decision.get("reason", ""))
        return handle, skip

    def runs(session: Any, prompt: Any) -> DurableStream:
        how = resumed if hasattr(prompt, "decisions") else started
        return DurableStream(lambda: how(session.session_id, prompt))

    return runs


class TemporalChat:
    """`agentsilex serve --temporal`: a Temporal client (and, with `worker=True`, a worker) in the server's event
    loop; `runs` starts each chat message as a durable run (web_runs)."""

    def __init__(self, address: str, agent: Any, store: str, *, task_queue: str = "agentsilex",
                 worker: bool = True) -> None:
        self.address, self.agent, self.store, self.task_queue = address, agent, store, task_queue
        self.with_worker = worker
        self.client: Client | None = None
        self.worker: Any = None

    async def start(self) -> None:
        from temporalio.worker import Worker

        plugin = AgentsilexPlugin(agents=[self.agent], store=self.store)
        self.client = await Client.connect(self.address, plugins=[plugin])
        if self.with_worker:
            self.worker = Worker(self.client, task_queue=self.task_queue)
            self.running = asyncio.ensure_future(self.worker.run())

    async def stop(self) -> None:
        if self.worker is not None:
            await self.worker.shutdown()

    def runs(self, session: Any, prompt: Any) -> DurableStream:
        if self.client is None:
            raise UserError("The Temporal client is not connected yet: TemporalChat.start() runs at server start.")
        return web_runs(self.client, self.agent, self.task_queue)(session, prompt)


class DurableRunner:
    """Runs agents durably inside your own Temporal workflow: `result = await DurableRunner("alice").run(agent, p)`.

    The worker needs the AgentsilexPlugin (its activities). Approvals wait on the `agentsilex.decide` signal of
    your workflow. Called outside a workflow it raises UserError, unless `allow_outside_workflow=True`, where it
    runs as a plain Runner (not durable) on the same stored session."""

    def __init__(self, session_id: str, context: dict | None = None, *, stream: bool = False,
                 allow_outside_workflow: bool = False, **options: Any) -> None:
        self.session_id, self.context, self.stream, self.options = session_id, context or {}, stream, options
        self.allow_outside_workflow = allow_outside_workflow
        self.runs = 0

    async def run(self, agent: Any, prompt: Any) -> RunResult:
        if not workflow.in_workflow():
            return await self._outside(agent, prompt)
        info = workflow.info()
        self.runs += 1
        with workflow.unsafe.sandbox_unrestricted():
            spec = run_spec(agent, prompt, self.session_id, run_id=f"{info.workflow_id}.{info.run_id}.{self.runs}",
                            stream=self.stream, context=self.context, max_turns=None)
        signals: dict[str, dict] = {}
        workflow.set_signal_handler(DECIDE, lambda decision: record_decision(signals, decision))
        data = await DurableDriver(WorkflowOps(signals), spec, agent, {**settings["options"], **self.options}).run()
        with workflow.unsafe.sandbox_unrestricted():
            return codec.result_from_data(data, settings["agents"])

    async def _outside(self, agent: Any, prompt: Any) -> RunResult:
        if not self.allow_outside_workflow:
            raise UserError("DurableRunner.run() was called outside a Temporal workflow, where it would not be "
                            "durable. Call it from a workflow, use start_run(client, ...), or pass "
                            "DurableRunner(..., allow_outside_workflow=True) to run it as a plain Runner.")
        from ..app.common import Store
        from ..runner import Runner

        if not settings["store"]:
            raise UserError("No AgentsilexPlugin in this process: it names the store the sessions live in.")
        session = Store(settings["store"]).session(self.session_id)
        return await Runner(session, self.context, **self.options).run_async(agent, prompt)


def _plugin_of(client: Client) -> AgentsilexPlugin:
    for plugin in client.config().get("plugins", []):
        if isinstance(plugin, AgentsilexPlugin):
            return plugin
    raise UserError("This Temporal client has no AgentsilexPlugin: Client.connect(..., plugins=[AgentsilexPlugin("
                    "agents=[...], store=...)]).")


def _keeper(session: Any) -> Any:
    from .steps import BLOB_KEY

    return lambda key, text: session.set_state(BLOB_KEY + key, text)


def _error_of(failure: WorkflowFailureError) -> Exception:
    cause = failure.cause
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.details and isinstance(cause.details[0], dict):
            return codec.error_from_data(cause.details[0])
        cause = cause.cause
    return failure
