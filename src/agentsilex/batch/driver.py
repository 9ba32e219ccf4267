"""The batch driver: many runs, one provider batch per round of model calls.

Each run is the ordinary loop, wrapped as the Runner wraps it (`Runner._loop`: capabilities, the session's writer
lock). A `Job` advances its run until it waits for model replies: events are dropped, tools run here at once
(`RunTools`, and those inside a `Batch` of agents side by side), model calls are queued under a custom id,
`r<run>-c<call>` (the run's n-th model call, so a replay finds the same ids again). A round sends every queued
call as one batch per server and model, waits for the batches (polling, with progress), hands each answer to its
run, and advances the runs that got one. A failed line fails only its run (retried first, in the next round,
when the failure is worth retrying: RetryPolicy's max_retries); a run that raises fails only itself.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from ..engine.capability import Emit, ModelCall, Outcome, RunTools
from ..engine.model_call import answered
from ..engine.tool_calls import run_tools_sync
from ..errors import ModelError, UserError
from .openai import FINISHED
from .replay import note_batch

Progress = Callable[[dict], None]


class Job:
    """One run of the batch: its loop, the model calls it waits on, and how it ended."""

    def __init__(self, index: int, loop: Any, session: Any, store: Any) -> None:
        self.index, self.loop, self.session, self.store = index, loop, session, store  # the view, the session
        self.calls = 0  # model calls asked so far: the n of each custom id
        self.request: Any = None  # what the loop waits on: a ModelCall, or a Batch of parts
        self.parts: dict[int, tuple[str | None, Any]] = {}  # id(part) -> (custom id base or None, part)
        self.outcomes: dict[int, Outcome] = {}  # id(part) -> its outcome, once there
        self.done, self.result, self.error = False, None, None

    def waiting(self) -> list[tuple[str, ModelCall]]:
        return [(base, part) for key, (base, part) in self.parts.items() if base and key not in self.outcomes]

    def ready(self) -> bool:
        return not self.done and any(key in self.outcomes for key in self.parts)


class Driver:
    """Advances the jobs, sends their model calls round by round (see the module docstring)."""

    def __init__(self, provider: Any, name: str, limits: Any, poll_interval: float, progress: Progress | None,
                 resume: bool, noted: dict[str, dict] | None = None) -> None:
        self.provider, self.name, self.limits, self.resume = provider, name, limits, resume
        self.noted = noted or {}  # batch id -> {"server", "calls"}: what the runs' notes say was sent
        self.poll_interval, self.progress = poll_interval, progress or (lambda info: None)
        self.clients: dict[Any, Any] = {}  # group key -> provider client
        self.known: dict[str, dict] = {}  # custom id base -> the provider's answer (this job's batches, any round)
        self.flying: dict[str, tuple[Any, dict]] = {}  # batch id -> (client, batch) not finished yet
        self.in_flight: set[str] = set()  # custom id bases in those batches
        self.attempts: dict[str, int] = {}
        self.rounds, self.batch_ids = 0, []

    # -- one run -------------------------------------------------------------------------------------------
    def advance(self, job: Job) -> None:
        """Send the job what it waited on, and run its loop until it waits for model replies again (or ends)."""
        value, error = self._reply(job) if job.request is not None else (None, None)
        while True:
            try:
                request = job.loop.throw(error) if error is not None else job.loop.send(value)
            except StopIteration as done:
                job.done, job.result = True, done.value
                return
            except Exception as exc:  # this run fails; the others go on
                job.done, job.error = True, exc
                return
            value, error = None, None
            try:
                if isinstance(request, Emit):
                    continue
                if isinstance(request, RunTools):
                    value = self._tools(job, request)
                    continue
                self._ask(job, request)
                if not job.ready():
                    return
                value, error = self._reply(job)
            except Exception as exc:  # the loop decides what it means, as with any driver
                value, error = None, exc

    def _ask(self, job: Job, request: Any) -> None:
        parts = getattr(request, "requests", None)
        if not isinstance(request, ModelCall) and parts is None:
            raise UserError(f"A batch run cannot answer {type(request).__name__} requests.")
        if job.request is not request:
            job.request = request
        for part in parts if parts is not None else [request]:
            if id(part) in job.parts:
                continue
            if isinstance(part, RunTools):
                job.parts[id(part)] = (None, part)
                job.outcomes[id(part)] = Outcome(value=self._tools(job, part))
                continue
            base = f"r{job.index}-c{job.calls}"
            job.calls += 1
            job.parts[id(part)] = (base, part)
            self._known_answer(job, base, part)

    def _reply(self, job: Job) -> tuple[Any, BaseException | None]:
        request, parts = job.request, getattr(job.request, "requests", None)
        if parts is None:
            outcome = job.outcomes.pop(id(request))
            job.parts.pop(id(request))
            job.request = None
            return outcome.value, outcome.error
        answers = [job.outcomes.pop(id(part), None) for part in parts]
        for part, answer in zip(parts, answers):
            if answer is not None:
                job.parts.pop(id(part), None)
        return answers, None

    def _tools(self, job: Job, request: RunTools) -> list[Outcome]:
        stored = getattr(job.session, "tool_answers", lambda calls: None)(request.calls)  # a replay: no tool runs twice
        return stored if stored is not None else run_tools_sync(request.calls, self.limits, request.deadline)

    # -- the provider's answers ----------------------------------------------------------------------------
    def _client(self, model: Any) -> tuple[Any, Any]:
        native = self.provider.model_for(model)
        key = self.provider.group(native)
        if key[:2] not in self.clients:
            client = self.clients[key[:2]] = self.provider(native)
            if self.resume:
                self._scan(client)
        return self.clients[key[:2]], native

    def _scan(self, client: Any) -> None:
        """What this job's earlier batches on this server hold (a resumed job): answers, and batches in flight.
        They are found by their metadata (OpenAI) and in the notes the runs keep with their sessions."""
        found = {batch["id"]: batch for batch in client.find(self.name)}
        for batch_id, entry in self.noted.items():
            if batch_id not in found and entry.get("server") == client.base_url:
                found[batch_id] = client.status(batch_id)
        for batch_id, batch in found.items():
            self.batch_ids.append(batch_id)
            if batch.get("status") in FINISHED:
                self._learn(client.results(batch))
                continue
            self.flying[batch_id] = (client, batch)
            calls = [cid.rsplit("-a", 1)[0] for cid in client.input_ids(batch)]
            self.in_flight.update(calls or self.noted.get(batch_id, {}).get("calls", []))

    def _learn(self, results: dict[str, dict]) -> None:
        for custom_id, found in results.items():
            base, _, attempt = custom_id.rpartition("-a")
            previous = self.known.get(base)
            if previous is None or "body" in found or int(attempt or 0) >= self.attempts.get(base, 0):
                self.known[base] = found
                self.attempts[base] = max(self.attempts.get(base, 0), int(attempt or 0))

    def _known_answer(self, job: Job, base: str, call: ModelCall) -> None:
        """Answer a call from what the provider already holds, or leave it waiting (sent next round)."""
        client, native = self._client(call.model)  # the first call to a server learns what it holds of this job
        found = self.known.get(base)
        if found is None:
            return
        answer = client.answer(found, native, call.request)
        if isinstance(answer, ModelError):
            delay = self.limits.retry.delay(self.attempts.get(base, 0), answer)
            if delay is not None and self.attempts.get(base, 0) < self.limits.retry.max_retries:
                self.known.pop(base)
                self.attempts[base] = self.attempts.get(base, 0) + 1  # asked again next round
                return
            job.outcomes[id(call)] = Outcome(error=answer)
            return
        job.outcomes[id(call)] = Outcome(value=answered(answer, native))

    # -- rounds --------------------------------------------------------------------------------------------
    def round(self, jobs: list[Job]) -> None:
        """Send every call still unanswered (and not in a batch already), wait for all batches, answer the jobs."""
        due: dict[Any, list[tuple[str, Job, ModelCall]]] = {}
        for job in jobs:
            for base, call in job.waiting():
                if base not in self.in_flight:
                    client, native = self._client(call.model)
                    due.setdefault((client, self.provider.group(native)), []).append((base, job, call))
        if not due and not self.flying:
            raise UserError("The batch has runs waiting for answers no batch will bring (a bug: please report it).")
        self.rounds += 1
        for (client, _), items in due.items():
            lines = [client.line(f"{base}-a{self.attempts.get(base, 0)}", self._client(call.model)[1], call.request)
                     for base, _, call in items]
            batch = client.submit(lines, {"agentsilex_batch": self.name, "agentsilex_round": str(self.rounds)})
            self.batch_ids.append(batch["id"])
            self.flying[batch["id"]] = (client, batch)
            self.in_flight.update(base for base, _, _ in items)
            if self.resume:  # so that a resumed job finds this batch even where the provider keeps no metadata
                for job in {id(job): job for _, job, _ in items}.values():
                    note_batch(job.store, self.name, batch["id"], client.base_url,
                               [base for base, owner, _ in items if owner is job])
            self.progress({"event": "submitted", "round": self.rounds, "batch": batch["id"], "requests": len(lines)})
        self._wait()
        for job in jobs:
            for base, call in job.waiting():
                self._known_answer(job, base, call)

    def _wait(self) -> None:
        """Poll every batch in flight until each has ended, then learn their answers. The first looks come
        quickly (from 50 ms, doubling up to `poll_interval`): a small batch may be done in seconds."""
        delay = 0.05
        while self.flying:
            for batch_id, (client, batch) in list(self.flying.items()):
                batch = client.status(batch_id)
                counts = batch.get("request_counts") or {}
                self.progress({"event": "polled", "round": self.rounds, "batch": batch_id, "status": batch["status"],
                               "completed": counts.get("completed", 0), "failed": counts.get("failed", 0),
                               "total": counts.get("total", 0)})
                if batch["status"] in FINISHED:
                    del self.flying[batch_id]
                    self._learn(client.results(batch))
            if self.flying:
                time.sleep(min(delay, self.poll_interval))
                delay *= 2
        self.in_flight.clear()

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
