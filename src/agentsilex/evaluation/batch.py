"""An evaluation set run as provider batches: `AgentEvaluator(agent, evaluators, batch="openai")`.

Every case keeps its own session, as in an ordinary evaluation. The first turn of every case goes out as one batch
job (`Runner.run_batch`: a round per model call of the runs), then every case's second turn, and so on; a case
whose turn failed stops there, as it does one by one. The evaluator then scores the cases exactly as it scores
ordinary runs, reading each turn's result from here (`runner_for(case)`); the cost is the batch price, and
`result.batch` says what the same requests would have cost one by one.
"""

from __future__ import annotations

from typing import Any

from ..runner import Runner
from ..session import Session
from .data import EvalSet


class BatchAnswers:
    """Every turn of every case, run through the batch API (see the module docstring)."""

    def __init__(self, evaluator: Any, eval_set: EvalSet) -> None:
        cases = eval_set.cases
        self.index = {id(case): i for i, case in enumerate(cases)}
        self.turns: list[list[Any]] = [[] for _ in cases]  # per case: each turn's RunResult, or the error
        sessions = [Session() for _ in cases]
        runner, jobs = Runner(**evaluator.runner_options), []
        for turn in range(max((len(case.dialog_session) for case in cases), default=0)):
            active = [i for i, case in enumerate(cases) if turn < len(case.dialog_session)
                      and not any(isinstance(done, BaseException) for done in self.turns[i])]
            if not active:
                continue
            batch = runner.run_batch(evaluator.agent, [cases[i].dialog_session[turn].user_utterance for i in active],
                                     provider=evaluator.batch, sessions=[sessions[i] for i in active],
                                     **evaluator.batch_options)
            jobs.append(batch)
            for i, run in zip(active, batch.runs):
                self.turns[i].append(run.error if run.error is not None else run.result)
        full = [job.full_price_usd for job in jobs if job.full_price_usd is not None]
        self.info = {"provider": evaluator.batch, "jobs": [job.name for job in jobs],
                     "rounds": sum(job.rounds for job in jobs), "batches": sum(len(job.batches) for job in jobs),
                     "full_price_usd": sum(full) if full else None}

    def runner_for(self, case: Any) -> _Answered:
        return _Answered(self.turns[self.index[id(case)]])


class _Answered:
    """What the evaluator runs a case with: each `run` gives that turn's result from the batch (or raises its error)."""

    def __init__(self, turns: list[Any]) -> None:
        self.turns = list(turns)

    def run(self, agent: Any, prompt: Any) -> Any:
        done = self.turns.pop(0)
        if isinstance(done, BaseException):
            raise done
        return done
