"""Batch runs: many agent runs through a provider's batch API, at its batch price (half), answered within 24 h.

    batch = runner.run_batch(agent, ["first prompt", "second prompt", ...])        # OpenAI /v1/files + /v1/batches
    batch[0].final_output, batch.errors, batch.cost_usd, batch.full_price_usd
    runner.run_batch(agent, prompts, name="nightly", sessions=lambda i: SQLiteSession(f"nightly-{i}", "runs.db"))
    agentsilex batch my_app.agents:agent prompts.jsonl --name nightly --store sqlite:///runs.db

The loop does no I/O and pauses at every model call, so one driver (driver.py) can hold thousands of runs: it
advances each to its next model call, sends all those calls as one batch, waits for it, hands each reply back,
runs the tools the replies ask for (here, as any driver does), and repeats until every run is done. Each run is
the ordinary loop with the Runner's capabilities, stored in its own session as if it ran alone: same requests
(each line's body is what the native path sends), same session, same result. A failed line or run fails only
its run (`batch.errors`). With a `name`, the job resumes after a crash: run it again with the same name, prompts
and sessions (replay.py). Not for: approvals (a run that pauses ends paused), fallback models, run_timeout
(a batch takes hours), streaming.
"""

from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from ..errors import UserError
from ..result import RequestUsage, RunResult, RunUsage
from ..session import Session
from .driver import Driver, Job, Progress
from .replay import BatchResumeError, begin, finish, noted_batches, replaying, started

__all__ = ["run_batch", "BatchResult", "BatchRun", "BatchResumeError", "BatchRequestUsage", "PROVIDERS"]

PROVIDERS = ("openai", "anthropic")
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass
class BatchRun:
    """One prompt of a batch: its session, and its RunResult or the error that ended it."""

    index: int
    prompt: Any
    session: Any
    result: RunResult | None = None
    error: BaseException | None = None


@dataclass
class BatchResult:
    """What `run_batch` returns: `batch[i]` is run i's RunResult (None if it failed: `batch.errors[i]`)."""

    name: str
    provider: str
    runs: list[BatchRun]
    rounds: int = 0
    batches: list[str] = field(default_factory=list)  # the provider's batch ids

    def __len__(self) -> int:
        return len(self.runs)

    def __iter__(self) -> Iterator[RunResult | None]:
        return iter(self.results)

    def __getitem__(self, index: int) -> RunResult | None:
        return self.runs[index].result

    @property
    def results(self) -> list[RunResult | None]:
        return [run.result for run in self.runs]

    @property
    def errors(self) -> dict[int, BaseException]:
        return {run.index: run.error for run in self.runs if run.error is not None}

    @property
    def usage(self) -> RunUsage:
        """Every finished run's usage, together."""
        total = RunUsage()
        for run in self.runs:
            if run.result is not None:
                total.merge(run.result.usage)
        return total

    @property
    def cost_usd(self) -> float | None:
        """What the batch cost, at the provider's batch prices (None when no model has a known price)."""
        return self.usage.cost_usd

    @property
    def full_price_usd(self) -> float | None:
        """What the same requests would have cost one by one, at the ordinary prices."""
        costs = [c for c in (RequestUsage.cost_usd.fget(r) for r in self.usage.per_request) if c is not None]
        return sum(costs) if costs else None

    def __repr__(self) -> str:
        return (f"BatchResult(name={self.name!r}, runs={len(self.runs)}, failed={len(self.errors)}, "
                f"rounds={self.rounds}, cost_usd={self.cost_usd})")


class BatchRequestUsage(RequestUsage):
    """A request answered through a provider batch: priced at the batch price."""

    @property
    def cost_usd(self) -> float | None:
        return batch_cost(self.model, self.input_tokens, self.output_tokens)


def batch_cost(model: str, input_tokens: int, output_tokens: int) -> float | None:
    """USD at the batch prices of LiteLLM's table (`*_cost_per_token_batches`); half the ordinary price for a
    model the table gives no batch price (OpenAI and Anthropic both halve it)."""
    from ..models.catalog import price_entry, request_cost

    entry = price_entry(model)
    if entry is not None and entry.get("input_cost_per_token_batches") is not None:
        return (entry["input_cost_per_token_batches"] * input_tokens
                + (entry.get("output_cost_per_token_batches") or 0.0) * output_tokens)
    full = request_cost(model, input_tokens, output_tokens)
    return None if full is None else full / 2


def run_batch(runner: Any, agent: Any, prompts: Sequence[Any], *, provider: str = "openai",
              sessions: Callable[[int], Any] | Sequence[Any] | None = None, name: str | None = None,
              poll_interval: float = 30.0, progress: Progress | None = None) -> BatchResult:
    """Run each prompt through the provider's batch API (see the module docstring). `sessions`: a function of the
    run's index, or a list (default: a new Session each); `name` makes the job resumable; `progress(info)` is
    called as batches are sent and polled; `poll_interval` is the longest wait between two polls (the first looks
    come sooner: from 50 ms, doubling)."""
    if provider not in PROVIDERS:
        raise UserError(f"run_batch(provider={provider!r}): use one of {PROVIDERS}.")
    prompts = list(prompts)
    if not prompts:
        raise UserError("run_batch() needs at least one prompt.")
    if name is not None and not _NAME.fullmatch(name):
        raise UserError(f"run_batch(name={name!r}): use 1 to 64 letters, digits, '_', '-' or '.'.")
    session_of = _sessions(sessions, len(prompts))
    runs = [BatchRun(index, prompt, session_of(index)) for index, prompt in enumerate(prompts)]
    notes = [started(run.session, name) for run in runs] if name is not None else []
    driver = Driver(_provider(provider), name or f"agentsilex-{uuid.uuid4().hex[:16]}", runner.execution,
                    poll_interval, progress, resume=name is not None, noted=noted_batches(notes))
    jobs = [_job(runner, agent, run, driver.name, name is not None) for run in runs]
    try:
        for job in jobs:
            driver.advance(job)
        while not all(job.done for job in jobs):
            driver.round(jobs)
            for job in jobs:
                if job.ready():
                    driver.advance(job)
            driver.progress({"event": "round", "round": driver.rounds, "runs_done": sum(j.done for j in jobs),
                             "runs": len(jobs)})
    finally:
        for job in jobs:
            job.loop.close()  # a run left waiting (an interrupt): its lock is released, its session stays valid
        driver.close()
    for run, job in zip(runs, jobs):
        run.result, run.error = _priced(job.result), job.error
        if job.result is not None and name is not None:
            finish(run.session, name)
    return BatchResult(driver.name, provider, runs, driver.rounds, list(dict.fromkeys(driver.batch_ids)))


def _job(runner: Any, agent: Any, run: BatchRun, name: str, resumable: bool) -> Job:
    """The run's loop, as the Runner builds it, on the run's session (or on a replay of it, when resuming)."""
    note = started(run.session, name) if resumable else None
    view = run.session
    if note is None:
        start = _first_agent(runner, agent, run.session)
        if resumable:
            begin(run.session, name, start.name)
    else:
        from ..features.handoffs import find_agent

        start = agent if note.get("agent") == agent.name else find_agent(agent, note.get("agent", ""))
        view = replaying(run.session, int(note.get("start", 0)))
    clone = copy.copy(runner)  # the Runner's options, on this run's session; batches have limits of their own
    clone.session, clone.continue_agent, clone.rate_limits = view, False, None
    return Job(run.index, clone._loop(start, run.prompt), view, run.session)


def _provider(provider: str) -> Any:
    if provider == "anthropic":
        from .anthropic import AnthropicBatches

        return AnthropicBatches
    from .openai import OpenAIBatches

    return OpenAIBatches


def _first_agent(runner: Any, agent: Any, session: Any) -> Any:
    """Who answers first: after a handoff in an earlier run on this session, that agent (as `Runner.run` does)."""
    from ..agent import reachable

    if not runner.continue_agent or not any(each.handoffs for each in reachable(agent)):
        return agent
    from ..features.handoffs import next_agent

    return next_agent(session, agent)


def _sessions(sessions: Any, count: int) -> Callable[[int], Any]:
    if sessions is None:
        return lambda index: Session()
    if callable(sessions):
        return sessions
    if isinstance(sessions, (list, tuple)) and len(sessions) == count:
        return lambda index: sessions[index]
    raise UserError(f"run_batch(sessions=...) takes a function of the run's index or a list of {count} sessions "
                    f"(one per prompt), got {sessions!r:.80}.")


def _priced(result: RunResult | None) -> RunResult | None:
    if result is not None:
        result.usage.per_request = [BatchRequestUsage(**vars(r)) for r in result.usage.per_request]
    return result
