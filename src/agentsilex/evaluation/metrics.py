"""Metric evaluators: each scores the actual turns of a case against the expected ones, turn by turn.

A turn passes when its score reaches the threshold; a case's metric passes when the average over its turns
does. A custom metric is a plain function `(actual: DialogTurn, expected: DialogTurn) -> float | bool`.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Callable, Collection, Mapping

from ..errors import UserError
from .data import DialogTurn, MetricResult, MetricTurnResult, ToolUsage


class BaseMetricEvaluator:
    """Subclass and implement `score_turn` (or `evaluate` for a whole-case metric)."""

    name: str = ""
    description: str = ""
    min_value: float = 0.0
    max_value: float = 1.0

    def __init__(self, threshold: float = 0.8) -> None:
        if not isinstance(threshold, (int, float)) or isinstance(threshold, bool):
            raise UserError(f"threshold must be a number between 0 and 1, got {threshold!r}.")
        self.threshold = float(threshold)

    def score_turn(self, actual: DialogTurn, expected: DialogTurn) -> float | tuple[float, str | None]:
        """The score of one turn, optionally with a short reason."""
        raise NotImplementedError(f"{type(self).__name__} must implement score_turn() or evaluate().")

    def evaluate(self, actual: list[DialogTurn], expected: list[DialogTurn]) -> MetricResult:
        """Score every turn; the metric's score is their average."""
        turns = []
        for actual_turn, expected_turn in zip(actual, expected):
            scored = self.score_turn(actual_turn, expected_turn)
            score, detail = scored if isinstance(scored, tuple) else (scored, None)
            score = float(score)
            turns.append(MetricTurnResult(score=score, passed=score >= self.threshold, detail=detail))
        if not turns:
            return MetricResult(score=0.0, passed=False, turn_results=[])
        average = sum(t.score for t in turns) / len(turns)
        return MetricResult(score=average, passed=average >= self.threshold, turn_results=turns)


class FunctionEvaluator(BaseMetricEvaluator):
    """A plain function as a metric: `function(actual, expected)` returns a score in [0, 1] or a bool."""

    def __init__(self, function: Callable[[DialogTurn, DialogTurn], float | bool], *, name: str | None = None,
                 threshold: float = 1.0) -> None:
        if not callable(function):
            raise UserError(f"A custom evaluator must be a function (actual, expected) -> score, got {function!r}.")
        super().__init__(threshold)
        self.function = function
        self.name = name or str(getattr(function, "__name__", "custom"))

    def score_turn(self, actual: DialogTurn, expected: DialogTurn) -> float:
        score = self.function(actual, expected)
        if not isinstance(score, (int, float)):
            raise UserError(f"Evaluator {self.name!r} returned {score!r}; return a number in [0, 1] or a bool.")
        return float(score)


class TrajectoryMatch(str, Enum):
    """How the tool calls of a turn are compared with the expected ones."""

    EXACT = "exact"  # the same calls in the same order, nothing else
    IN_ORDER = "in_order"  # the expected calls in this order; other calls may come between
    ANY_ORDER = "any_order"  # the same calls, in any order
    SUBSET = "subset"  # every expected call happens, in any order; extra calls are fine


ArgumentRule = Callable[[str, dict, dict], bool]


class ToolTrajectoryEvaluator(BaseMetricEvaluator):
    """1.0 per turn when the tool calls match the expected ones (by `match` and the argument rule), else 0.0.

    Arguments are compared as JSON objects; `ignore_arguments` leaves out some keys (a list for every tool,
    or a dict of tool name -> keys); `arguments` is a function `(tool_name, actual, expected) -> bool`
    that replaces the comparison; `arguments=False` compares tool names only."""

    name = "tool_trajectory"
    description = "Compares the tool calls made with the expected ones: 1.0 when they match, 0.0 when not."

    def __init__(self, threshold: float = 0.8, *, match: TrajectoryMatch | str = TrajectoryMatch.EXACT,
                 ignore_arguments: Collection[str] | Mapping[str, Collection[str]] = (),
                 arguments: ArgumentRule | bool = True) -> None:
        super().__init__(threshold)
        try:
            self.match = TrajectoryMatch(match)
        except ValueError:
            raise UserError(f"match must be one of {[m.value for m in TrajectoryMatch]}, got {match!r}.") from None
        self.ignore_arguments = ignore_arguments
        self.arguments = arguments

    def score_turn(self, actual: DialogTurn, expected: DialogTurn) -> tuple[float, str | None]:
        ok = _trajectory_matches(actual.tools_used, expected.tools_used, self.match, self.calls_match)
        if ok:
            return 1.0, None
        return 0.0, f"expected {_calls(expected.tools_used)} ({self.match.value}), got {_calls(actual.tools_used)}"

    def calls_match(self, actual: ToolUsage, expected: ToolUsage) -> bool:
        """Whether one actual call stands for one expected call."""
        if actual.name != expected.name:
            return False
        if self.arguments is False:
            return True
        actual_args, expected_args = actual.arguments_dict(), expected.arguments_dict()
        if callable(self.arguments):
            return bool(self.arguments(actual.name, actual_args, expected_args))
        ignored = (self.ignore_arguments.get(actual.name, ()) if isinstance(self.ignore_arguments, Mapping)
                   else self.ignore_arguments)
        return _without(actual_args, ignored) == _without(expected_args, ignored)


def _without(arguments: dict, keys: Collection[str]) -> dict:
    return {k: v for k, v in arguments.items() if k not in keys}


def _calls(calls: list[ToolUsage]) -> str:
    return "[" + ", ".join(f"{c.name}({c.arguments_dict()})" for c in calls) + "]" if calls else "no tool calls"


def _trajectory_matches(actual: list[ToolUsage], expected: list[ToolUsage], mode: TrajectoryMatch,
                        same: Callable[[ToolUsage, ToolUsage], bool]) -> bool:
    if mode is TrajectoryMatch.EXACT:
        return len(actual) == len(expected) and all(same(a, e) for a, e in zip(actual, expected))
    if mode is TrajectoryMatch.IN_ORDER:
        remaining = iter(actual)
        return all(any(same(a, e) for a in remaining) for e in expected)  # a subsequence, greedily
    if mode is TrajectoryMatch.ANY_ORDER and len(actual) != len(expected):
        return False
    return _assign(list(expected), list(actual), same)


def _assign(expected: list[ToolUsage], actual: list[ToolUsage], same: Callable[[ToolUsage, ToolUsage], bool]) -> bool:
    """Can each expected call be paired with its own actual call? (backtracking: custom rules may overlap)"""
    if not expected:
        return True
    first, rest = expected[0], expected[1:]
    return any(same(candidate, first) and _assign(rest, actual[:i] + actual[i + 1:], same)
               for i, candidate in enumerate(actual))


class SimilarityMetric(Enum):
    """How `ResponseMatchEvaluator` compares texts."""

    ROUGE_1 = "rouge1"  # unigram overlap, F-measure
    ROUGE_2 = "rouge2"  # bigram overlap, F-measure
    ROUGE_L = "rougeL"  # longest common subsequence, F-measure
    EXACT = "exact"  # equal after lower-casing and collapsing whitespace


class ResponseMatchEvaluator(BaseMetricEvaluator):
    """Text similarity of the agent's answer to the expected one, per turn (ROUGE needs the `evaluation`
    extra: `pip install -e '.[evaluation]'`)."""

    name = "response_match"
    description = "Similarity of the answer to the expected answer (ROUGE F-measure or exact), in [0, 1]."

    def __init__(self, threshold: float = 0.7, metric: SimilarityMetric = SimilarityMetric.ROUGE_1,
                 use_stemmer: bool = True) -> None:
        super().__init__(threshold)
        if not isinstance(metric, SimilarityMetric):
            raise UserError(f"metric must be a SimilarityMetric (ROUGE_1, ROUGE_2, ROUGE_L, EXACT), got {metric!r}.")
        self.metric = metric
        self.use_stemmer = use_stemmer
        self._scorer: Any = None

    def score_turn(self, actual: DialogTurn, expected: DialogTurn) -> float:
        return self.similarity(actual.agent_response, expected.agent_response)

    def similarity(self, actual: str, expected: str) -> float:
        """The score of one answer against one reference."""
        if self.metric is SimilarityMetric.EXACT:
            return float(" ".join(actual.lower().split()) == " ".join(expected.lower().split()))
        if not actual.strip() or not expected.strip():
            return float(actual.strip() == expected.strip())  # ROUGE of an empty text is undefined
        return float(self._rouge().score(expected, actual)[self.metric.value].fmeasure)

    def _rouge(self) -> Any:
        if self._scorer is None:
            try:
                from rouge_score import rouge_scorer
            except ImportError:
                raise UserError("ROUGE metrics need the rouge-score package: pip install -e '.[evaluation]' "
                                "(or use SimilarityMetric.EXACT).") from None
            self._scorer = rouge_scorer.RougeScorer([self.metric.value], use_stemmer=self.use_stemmer)
        return self._scorer
