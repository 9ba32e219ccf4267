"""The durable driver: the fifth driver beside the sync and async ones, for any durable engine (Temporal, DBOS).

The workflow drives the same agent loop (engine/loop.py) and does no I/O itself: every `ModelCall` becomes a model
step, every tool call a tool step of its own, and the engine (temporal.py, dbos.py) records each step's result,
so a replay after a crash sends the loop the same answers and it takes the same path. What the steps exchange is
plain data (codec.py). Between steps the loop's new messages are committed by the next step, keyed by their place
in the session, so a retried step stores nothing twice; events ride along to the store (events.py) for the
callers watching. A call that needs approval pauses the workflow until the decisions arrive (`Ops.decisions`).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

from ..engine.capability import Emit, ModelCall, Outcome, RunTools
from ..wrapping import Capability
from ..engine.loop import LoopOptions, Run, agent_loop
from ..errors import UserError
from ..result import RunResult
from . import codec
from .session import DurableSession


class Ops(Protocol):
    """What a durable engine gives the driver: its steps (each recorded, retried on a crash) and its waits."""

    async def step(self, name: str, payload: dict, *, timeout: float | None = None) -> dict: ...

    async def decisions(self, waiting: list[str], decided: dict[str, dict]) -> None: ...

    def unrestricted(self) -> AbstractContextManager: ...


def runner_for(session: DurableSession, context: Any, options: dict[str, Any]) -> Any:
    """The Runner whose settings a durable run uses; options that would need the whole conversation are refused."""
    from ..runner import Runner

    refused = [name for name in ("memory", "history_processors", "before_llm_call_callbacks") if options.get(name)]
    timeouts = options.get("timeouts")
    if options.get("run_timeout") or (timeouts is not None and timeouts.run is not None):
        refused.append("run_timeout (use the workflow's execution timeout)")
    if refused:
        raise UserError(f"A durable run cannot use {', '.join(refused)}: its workflow holds this run's messages, "
                        "not the conversation. Leave them out, or run those agents with a plain Runner.")
    return Runner(session, context, **options)


class DurableApproval(Capability):
    """Approval inside a workflow: a call that needs it pauses the run; the decisions come as signals or messages
    (features/approval.py is for runs that stop and resume from a saved state; here the workflow just waits)."""

    def __init__(self, decided: dict[str, dict]) -> None:
        self.decided = decided

    def decide(self, call: dict, step: Any) -> Any:
        from ..features.approval import decide

        return decide(call, step, self.decided)


class DurableDriver:
    """Drives one durable run (one agent, one prompt, across pauses for approval) with an engine's `Ops`."""

    def __init__(self, ops: Ops, spec: dict, agent: Any, options: dict[str, Any]) -> None:
        self.ops, self.spec, self.agent, self.options = ops, spec, agent, options
        self.outbox: list[dict] = []  # events not yet handed to a step to publish
        self.batch = 0  # the next event batch number (events.py)
        self.decided: dict[str, dict] = {}

    async def run(self) -> dict:
        """The whole run; returns the result as plain data (codec.result_to_data)."""
        begun = await self.ops.step("begin", {"session_id": self.spec["session_id"], "run_id": self.spec["run_id"],
                                              "fingerprint": self.spec["fingerprint"]})
        with self.ops.unrestricted():
            codec.check_fingerprint(begun["fingerprint"], codec.fingerprint(self.agent))
            self.session = DurableSession(self.spec["session_id"], begun["count"], begun["digest"], begun["state"])
            self.runner = runner_for(self.session, self.spec.get("context") or {}, self.options)
            run, loop = self._start(self.spec["prompt"], None)
        parts: list[RunResult] = []
        while True:
            result = await self._drive(loop)
            parts.append(result)
            if not result.pending_approvals:
                break
            await self._pause(result)
            with self.ops.unrestricted():
                run, loop = self._start(self.spec["prompt"], run)
        with self.ops.unrestricted():
            whole = _joined(parts)
            data = codec.result_to_data(whole)
        await self._flush("finish", {"result": data, "blobs": sorted(set(codec.BLOB_PATTERN.findall(
            str(self.session.new))))})
        return data

    def _start(self, prompt: Any, paused: Run | None) -> tuple[Run, Any]:
        """The loop of a run (what Runner._loop builds), with approval decided here; `paused`: resume its step."""
        from ..features import assemble
        from ..features.approval import Approval
        from ..wrapping import Loop

        runner, agent = self.runner, self.agent if paused is None else paused.agent
        needs = runner._needs(self.agent)
        if "handoffs" in needs and runner.continue_agent and paused is None:
            from ..features.handoffs import next_agent

            agent = next_agent(self.session, agent)
        capabilities = assemble(runner, needs, None) if needs or runner.configured else []
        capabilities = [DurableApproval(self.decided) if isinstance(c, Approval) else c for c in capabilities]
        if paused is not None and not any(isinstance(c, DurableApproval) for c in capabilities):
            capabilities.append(DurableApproval(self.decided))
        run = Run(agent, self.session, runner.context, prompt,
                  options=LoopOptions(**{**vars(runner.options), "capabilities": capabilities}))
        if paused is not None:
            step = paused.step
            run.chain, run.first, run.state = list(paused.chain), False, dict(paused.state)
            run.resume = {"message": step.message, "offered": step.offered}
        loop = agent_loop(run)
        if run.plugs["wrap"]:  # as the Runner nests them: the first innermost
            loop = Loop(loop, run)
            for wrap in run.plugs["wrap"]:
                loop = Loop(wrap(loop), run)
        return run, loop

    async def _drive(self, loop: Any) -> RunResult:
        reply: Any = None
        error: BaseException | None = None
        while True:
            with self.ops.unrestricted():
                try:
                    request = loop.throw(error) if error is not None else loop.send(reply)
                except StopIteration as done:
                    return done.value
            reply, error = None, None
            try:
                if isinstance(request, Emit):
                    self.outbox.append(codec.event_to_data(request.event))
                elif isinstance(request, ModelCall):
                    reply = await self._model(request)
                elif isinstance(request, RunTools):
                    reply = await self._tools(request)
                else:
                    reply = await self._batch(request)
            except Exception as exc:  # the step's typed error (codec.error_from_data): the loop decides what it means
                error = exc

    async def _model(self, call: ModelCall) -> Any:
        request = call.request
        with self.ops.unrestricted():
            head, tail, count = _split(request.messages, self.session)
            payload = {"agent": call.agent.name, "model": getattr(call.model, "name", None), "quiet": call.quiet,
                       "head": head, "tail": tail, "count": count, "tools": request.tools,
                       "settings": _settings(request.settings), "response_format": request.response_format,
                       "output_mode": request.output_mode, "timeouts": [request.timeout, request.idle_timeout,
                                                                       request.connect_timeout],
                       "stream": bool(self.spec.get("stream")) and not call.quiet,
                       "stream_batch": None, "retry": _settings(self.runner.execution.retry)}
        if payload["stream"]:
            payload["stream_batch"] = self._reserve()
        answer_ = await self._flush("model", payload)
        with self.ops.unrestricted():
            return codec.response_from_data(answer_["response"])

    async def _tools(self, request: RunTools) -> list[Outcome]:
        from ..tool_call import describe

        payloads = []
        with self.ops.unrestricted():
            for item in request.calls:
                info = describe(item)
                raw = next((c["function"]["arguments"] for c in (item.run.step.message.get("tool_calls") or [])
                            if c["id"] == item.call_id), None) if item.run and item.run.step else None
                payloads.append({"agent": item.run.agent.name if item.run else self.agent.name, "tool": info.name,
                                 "arguments": raw if raw is not None else codec.plain(item.arguments),
                                 "call_id": item.call_id, "key": info.idempotency_key, "step": info.step,
                                 "session_id": self.session.session_id,
                                 "context": self.spec.get("context") or {},
                                 "timeout": getattr(item.tool, "timeout", None) or self.runner.execution.tool_timeout})
        import asyncio

        # Side by side, each call a step of its own; the first carries the commit and the events so far.
        done = await asyncio.gather(*(self._flush("tool", p) if i == 0 else
                                      self.ops.step("tool", p, timeout=p["timeout"]) for i, p in enumerate(payloads)))
        with self.ops.unrestricted():
            return [Outcome(error=codec.error_from_data(d["error"])) if "error" in d else Outcome(value=d["value"])
                    for d in done]

    async def _batch(self, request: Any) -> list[Outcome | None]:
        """Agents used as tools side by side (features/parallel.py): every request of the Batch at once."""
        import asyncio

        async def one(item: Any) -> Outcome:
            try:
                value = await (self._model(item) if isinstance(item, ModelCall) else self._tools(item))
                return Outcome(value=value)
            except Exception as exc:
                return Outcome(error=exc)

        return list(await asyncio.gather(*(one(item) for item in request.requests)))

    async def _flush(self, name: str, payload: dict) -> dict:
        """Run step `name` with the commit of what the loop stored since the last step and the events so far."""
        with self.ops.unrestricted():
            commit = self.session.take_commit()
            last = {k: payload.pop(k) for k in ("paused", "result") if k in payload}
            payload = {**payload, "session_id": self.session.session_id, "run_id": self.spec["run_id"],
                       "expect": self.session.count, "digest": self.session.digest, "commit": commit,
                       "publish": self._take_events(last or None), "batches": self.batch}
        done = await self.ops.step(name, payload, timeout=payload.get("timeout"))
        self.session.committed(done["count"], done["digest"])
        return done

    def _take_events(self, last: dict | None = None) -> dict | None:
        """The events emitted since the last step, as the next batch (with the pause or the result, if `last`)."""
        if not self.outbox and last is None:
            return None
        events, self.outbox = self.outbox, []
        return {"batch": self._reserve(), "events": events, **(last or {})}

    def _reserve(self) -> int:
        self.batch += 1
        return self.batch - 1

    async def _pause(self, result: RunResult) -> None:
        """Publish the pause (with the waiting calls), then wait for every decision: no process is held."""
        with self.ops.unrestricted():
            paused = codec.result_to_data(result)
        await self._flush("finish", {"paused": paused})
        waiting = [p.call_id for p in result.pending_approvals]
        await self.ops.decisions(waiting, self.decided)


def _split(messages: list[dict], session: DurableSession) -> tuple[list[dict], list[dict], int]:
    """The request as (head, tail, count): the model step puts the first `count` stored messages between them.

    The loop built the request from the run's own messages (`session.new`), which the same step commits before it
    calls the model; when they are there unchanged after the system prompt, they go by reference too."""
    at = 1 if messages and messages[0].get("role") == "system" else 0
    new = session.new
    if messages[at:at + len(new)] == new:
        return messages[:at], messages[at + len(new):], session.base + len(new)
    return messages[:at], messages[at:], session.base


def _settings(settings: Any) -> dict:
    import dataclasses

    return dataclasses.asdict(settings)


def _joined(parts: list[RunResult]) -> RunResult:
    """One result for a run that paused for approval and went on: every message, call and request in it."""
    whole = parts[-1]
    if len(parts) == 1:
        return whole
    from ..result import RunUsage

    usage = RunUsage()
    for part in parts:
        usage.merge(part.usage)
    whole.input = parts[0].input
    whole.new_messages = [m for part in parts for m in part.new_messages]
    whole.function_calls = [c for part in parts for c in part.function_calls]
    whole.usage, whole.usage_before_pause = usage, None
    return whole


def run_spec(agent: Any, prompt: Any, session_id: str, *, run_id: str, stream: bool, context: Any,
             max_turns: int | None) -> dict:
    """A durable run's input: plain JSON, with the agents' fingerprint (compared on every replay)."""
    if not isinstance(context, (dict, type(None))):
        raise UserError("A durable run's context must be a JSON-safe dict (every step gets a copy of it).")
    if not isinstance(prompt, str):
        from ..features.content import normalize_prompt

        prompt = normalize_prompt(prompt)
    return {"agent": agent.name, "prompt": prompt, "session_id": session_id, "run_id": run_id, "stream": stream,
            "context": context or {}, "max_turns": max_turns, "fingerprint": codec.fingerprint(agent)}
