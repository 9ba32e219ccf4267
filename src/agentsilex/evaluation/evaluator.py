"""`AgentEvaluator`: run every case of a set (a bounded number at once) and score it with the metrics."""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from ..result import RunUsage
from ..errors import UserError
from ..runner import Runner
from ..session import Session
from .data import DialogTurn, EvalCase, EvalCaseResult, EvalSet, EvalSetResult, MetricResult, MetricSummary, ToolUsage
from .metrics import BaseMetricEvaluator, FunctionEvaluator

Progress = Callable[[int, int, EvalCaseResult], None]


class AgentEvaluator:
    """Runs each case's turns on one fresh session (a later turn sees the earlier ones) and scores them.

    `concurrency` cases run at once, each in its own thread with its own session (the agent, its tools and
    its model are shared, so they must be safe to call from several threads; use 1 when they are not).
    `progress(done, total, case_result)` is called as each case finishes. `runner_options` go to `Runner`.
    `batch="openai"` runs the set through the provider's batch API instead, at its batch price: every case's first
    turn in one batch job, then every second turn, ... (evaluation/batch.py; `batch_options` go to run_batch)."""

    def __init__(self, agent: Any, evaluators: list[BaseMetricEvaluator | Callable], *, concurrency: int = 4,
                 progress: Progress | None = None, batch: str | None = None, batch_options: dict | None = None,
                 **runner_options: Any) -> None:
        if not isinstance(concurrency, int) or concurrency < 1:
            raise UserError(f"concurrency must be a positive integer, got {concurrency!r}.")
        self.agent = agent
        self.evaluators = [_as_evaluator(e) for e in evaluators]
        names = [e.name for e in self.evaluators]
        if len(set(names)) != len(names):
            raise UserError(f"Two evaluators share a name ({names}); give custom ones distinct names.")
        self.concurrency = concurrency
        self.progress = progress
        self.runner_options = runner_options
        self.batch, self.batch_options = batch, dict(batch_options or {})
        self._answers: Any = None  # a batch evaluation's results, turn by turn (evaluation/batch.py)

    def evaluate(self, eval_set: EvalSet) -> EvalSetResult:
        """Run and score every case; the set passes when every case passes (and it has at least one)."""
        if not isinstance(eval_set, EvalSet):
            raise UserError(f"evaluate() takes an EvalSet (EvalSet.load(path)), got {type(eval_set).__name__}.")
        started = time.perf_counter()
        if self.batch:
            from .batch import BatchAnswers  # loaded only for a batch evaluation

            self._answers = BatchAnswers(self, eval_set)  # every turn through the batch API; scored as usual below
        total, done = len(eval_set.cases), 0
        results: list[EvalCaseResult] = []
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="eval-case") as pool:
            for result in pool.map(self.evaluate_case, eval_set.cases):  # in case order, as they finish
                results.append(result)
                done += 1
                if self.progress is not None:
                    self.progress(done, total, result)
        passed_cases = sum(r.passed for r in results)
        batch, self._answers = (self._answers.info if self._answers is not None else None), None
        # An empty set proves nothing: it never passes (a CI gate on it would pass whatever the agent does).
        return EvalSetResult(passed=bool(total) and passed_cases == total, total_cases=total, passed_cases=passed_cases,
                             case_results=results, metric_summaries=summarize(results),
                             duration_seconds=time.perf_counter() - started, batch=batch)

    def evaluate_case(self, case: EvalCase) -> EvalCaseResult:
        """Run one case and score it."""
        started = time.perf_counter()
        actual, usage, error = self._run(case)
        metrics = {evaluator.name: _score(evaluator, actual, case.dialog_session) for evaluator in self.evaluators}
        return EvalCaseResult(
            eval_id=case.eval_id, passed=error is None and all(m.passed for m in metrics.values()),
            metric_results=metrics, expected_turns=case.dialog_session, actual_turns=actual, error=error,
            duration_seconds=time.perf_counter() - started, requests=usage.requests,
            input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
            cost_usd=usage.cost_usd if self._answers is not None else _cost(usage))

    def _run(self, case: EvalCase) -> tuple[list[DialogTurn], RunUsage, str | None]:
        answers = self._answers
        runner = answers.runner_for(case) if answers is not None else Runner(Session(), **self.runner_options)
        error: str | None
        agent, usage, error = self.agent, RunUsage(), None
        actual: list[DialogTurn] = []
        for turn in case.dialog_session:
            if error is not None:
                actual.append(DialogTurn(user_utterance=turn.user_utterance))
                continue
            try:
                result = runner.run(agent, turn.user_utterance)
            except Exception as exc:  # the case fails with the error; the set goes on
                error = f"turn {len(actual) + 1}: {type(exc).__name__}: {exc}"
                partial = getattr(exc, "result", None)
                if partial is not None and hasattr(partial, "usage"):
                    usage.merge(partial.usage)
                actual.append(DialogTurn(user_utterance=turn.user_utterance))
                continue
            agent = result.last_agent  # after a handoff, the next turn talks to the agent that answered
            usage.merge(result.usage)
            actual.append(DialogTurn(
                user_utterance=turn.user_utterance, agent_response=_text(result.final_output),
                tools_used=[ToolUsage(name=c.name, arguments=c.arguments, response=c.content)
                            for c in result.function_calls]))
        return actual, usage, error


def _as_evaluator(evaluator: Any) -> BaseMetricEvaluator:
    if isinstance(evaluator, BaseMetricEvaluator):
        return evaluator
    if callable(evaluator):
        return FunctionEvaluator(evaluator)
    raise UserError(f"An evaluator must be a BaseMetricEvaluator or a function (actual, expected) -> score, "
                    f"got {evaluator!r}.")


def _score(evaluator: BaseMetricEvaluator, actual: list[DialogTurn], expected: list[DialogTurn]) -> MetricResult:
    try:
        return evaluator.evaluate(actual, expected)
    except UserError:
        raise  # a mistake in the set-up (a missing extra, a bad custom metric): stop and say so
    except Exception as exc:
        return MetricResult(score=0.0, passed=False, error=f"{type(exc).__name__}: {exc}")


def _text(output: Any) -> str:
    if output is None or isinstance(output, str):
        return output or ""
    dump = getattr(output, "model_dump", None)
    return json.dumps(dump() if callable(dump) else output, default=str)


def _cost(usage: RunUsage) -> float | None:
    # Prices come from LiteLLM's table; load it only if the run already did (scripted models have no price).
    return usage.cost_usd if "litellm" in sys.modules and usage.per_request else None


def summarize(results: list[EvalCaseResult]) -> dict[str, MetricSummary]:
    """Average, minimum, maximum and pass rate of each metric over the cases."""
    summaries: dict[str, MetricSummary] = {}
    names = dict.fromkeys(name for r in results for name in r.metric_results)
    for name in names:
        metrics = [r.metric_results[name] for r in results if name in r.metric_results]
        scores = [m.score for m in metrics]
        passed = sum(m.passed for m in metrics)
        summaries[name] = MetricSummary(avg_score=sum(scores) / len(scores), min_score=min(scores),
                                        max_score=max(scores), passed_count=passed, total_count=len(metrics),
                                        pass_rate=passed / len(metrics))
    return summaries
