"""The Temporal side of a durable run: the workflow `agentsilex.run`, its activities, and the durable driver's
steps as activities (the public names are in temporal.py).

Each step is an activity: `agentsilex.begin` (the stored history's reference), `agentsilex.model` (one model call),
`agentsilex.tool` (one tool call), `agentsilex.finish` (the last commit). agentsilex's own errors come back as
non-retryable ApplicationErrors carrying the error as data (rebuilt as the same class in the workflow); Temporal
retries only crashes and timeouts, and a worker that stops heartbeating loses its step to another worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import timedelta
from typing import Any, AsyncIterator, Callable

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from ..errors import AgentsilexError, UserError
from . import codec
from .codec import PayloadTooLargeError
from .driver import DurableDriver
from .steps import Steps

WORKFLOW = "agentsilex.run"
DECIDE = "agentsilex.decide"  # the signal that approves or rejects a waiting call
PAYLOAD_LIMIT = 1_800_000  # bytes: Temporal refuses payloads over 2 MB (and warns from 512 KB)
PASSED_THROUGH = ("agentsilex", "litellm", "pydantic", "pydantic_core", "httpx", "aiohttp", "opentelemetry",
                  "docstring_parser", "sqlalchemy", "redis", "psycopg")
RETRIED = ("SessionBusyError", "SessionUnavailableError", "SessionLockLostError")  # worth another attempt
settings: dict[str, Any] = {"agents": {}, "options": {}, "heartbeat": 30.0, "model_timeout": 1800.0,
                             "tool_timeout": 3600.0, "store": None}


def passing_through(existing: WorkflowRunner | None) -> WorkflowRunner:
    """The worker's sandbox, with agentsilex and what it imports passed through (the loop's own code runs
    unrestricted: it does no I/O)."""
    if isinstance(existing, UnsandboxedWorkflowRunner):
        return existing
    restrictions = existing.restrictions if isinstance(existing, SandboxedWorkflowRunner) else \
        SandboxRestrictions.default
    return SandboxedWorkflowRunner(restrictions=restrictions.with_passthrough_modules(*PASSED_THROUGH))


def activities(steps: Steps) -> list[Any]:
    @activity.defn(name="agentsilex.begin")
    async def begin(payload: dict) -> dict:
        return await _typed(steps.begin(payload))

    @activity.defn(name="agentsilex.model")
    async def model(payload: dict) -> dict:
        return await _typed(steps.model(payload, activity.info().attempt))

    @activity.defn(name="agentsilex.tool")
    async def tool(payload: dict) -> dict:
        return await _typed(steps.tool(payload))

    @activity.defn(name="agentsilex.finish")
    async def finish(payload: dict) -> dict:
        return await _typed(steps.finish(payload))

    return [begin, model, tool, finish]


async def _typed(work: Any) -> dict:
    """One retry layer: agentsilex's errors are final (it retried the model itself); crashes and timeouts are left
    to Temporal; a result over the payload limit is final too. Heartbeats go out from the event loop all along (a
    sync tool runs in a thread meanwhile), so a worker that dies loses its step within the heartbeat timeout."""
    try:
        async with beating(activity.heartbeat):
            result = await work
    except AgentsilexError as exc:
        raise ApplicationError(str(exc), codec.error_to_data(exc), type=type(exc).__name__,
                               non_retryable=type(exc).__name__ not in RETRIED) from exc
    size = len(json.dumps(result, default=str))
    if size > PAYLOAD_LIMIT:
        error = PayloadTooLargeError(f"A step's result is {size:,} bytes, over Temporal's payload limit; a model reply "
                                     "this large cannot be recorded. Ask for a shorter answer (max_tokens).")
        raise ApplicationError(str(error), codec.error_to_data(error), type=type(error).__name__, non_retryable=True)
    return result


@contextlib.asynccontextmanager
async def beating(beat: Callable[[], None] | None, every: float = 1.0) -> AsyncIterator[None]:
    """Heartbeat from the event loop while the step runs (a sync tool runs in a thread meanwhile)."""
    if beat is None:
        yield
        return

    async def loop() -> None:
        while True:
            beat()
            await asyncio.sleep(every)

    task = asyncio.ensure_future(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class WorkflowOps:
    """The durable driver's steps as Temporal activities, its waits as signals (driver.Ops)."""

    def __init__(self, signals: dict[str, dict]) -> None:
        self.signals = signals

    async def step(self, name: str, payload: dict, *, timeout: float | None = None) -> dict:
        size = len(json.dumps(payload, default=str))
        if size > PAYLOAD_LIMIT:
            raise PayloadTooLargeError(f"The {name} step's input is {size:,} bytes, over Temporal's payload limit. "
                                       "Send large content (images, files) as tool results or keep the prompt small.")
        limit = {"model": settings["model_timeout"], "tool": (timeout + 60) if timeout else settings["tool_timeout"]}
        try:
            return await workflow.execute_activity(
                f"agentsilex.{name}", payload, start_to_close_timeout=timedelta(seconds=limit.get(name, 120)),
                heartbeat_timeout=timedelta(seconds=settings["heartbeat"]),
                retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10)))
        except ActivityError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.details:
                raise codec.error_from_data(cause.details[0]) from None
            raise

    async def decisions(self, waiting: list[str], decided: dict[str, dict]) -> None:
        await workflow.wait_condition(lambda: all(call_id in self.signals for call_id in waiting))
        decided.update({call_id: self.signals[call_id] for call_id in waiting})

    def unrestricted(self) -> Any:
        return workflow.unsafe.sandbox_unrestricted()


def record_decision(signals: dict[str, dict], decision: dict) -> None:
    signals[str(decision["call_id"])] = {"approved": bool(decision.get("approved")),
                                         "reason": str(decision.get("reason") or "")}


@workflow.defn(name=WORKFLOW)
class AgentRun:
    """One durable run: the agent loop, across pauses for approval (see the module docstring)."""

    def __init__(self) -> None:
        self.signals: dict[str, dict] = {}

    @workflow.run
    async def run(self, spec: dict) -> dict:
        with workflow.unsafe.sandbox_unrestricted():
            agent = agent_named(spec["agent"])
        options = {**settings["options"], **({"max_turns": spec["max_turns"]} if spec.get("max_turns") else {})}
        try:
            return await DurableDriver(WorkflowOps(self.signals), spec, agent, options).run()
        except codec.AgentChangedError:
            raise  # not the run's failure: the workflow task is retried until the workers run its code again
        except AgentsilexError as exc:
            raise ApplicationError(str(exc), codec.error_to_data(exc), type=type(exc).__name__,
                                   non_retryable=True) from None

    @workflow.signal(name=DECIDE)
    def decide(self, decision: dict) -> None:
        record_decision(self.signals, decision)


def agent_named(name: str) -> Any:
    found = settings["agents"].get(name)
    if found is None:
        raise UserError(f"No agent named {name!r} is registered on this worker: give AgentsilexPlugin(agents=[...]) "
                        "every agent a run may start with.")
    return found
