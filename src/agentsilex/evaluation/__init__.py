"""Evaluation: run an agent over a set of recorded conversations and score what it does.

    from agentsilex.evaluation import AgentEvaluator, EvalSet, ToolTrajectoryEvaluator, ResponseMatchEvaluator
    result = AgentEvaluator(agent=agent, evaluators=[ToolTrajectoryEvaluator(threshold=1.0),
                                                     ResponseMatchEvaluator(threshold=0.5)]).evaluate(
        EvalSet.load("evalset.json"))
    assert result.passed

The API and JSON format are agentsilex 1.0's. ROUGE needs the `evaluation` extra (rouge-score, imported
only when a ROUGE metric scores its first answer).
"""

from .data import (DialogTurn, EvalCase, EvalCaseResult, EvalSet, EvalSetResult, MetricResult, MetricSummary,
                   MetricTurnResult, ToolUsage)
from .evaluator import AgentEvaluator
from .from_session import case_from_messages, case_from_session, open_session
from .judge import JudgeVerdict, LLMJudgeEvaluator, RubricBasedEvaluator
from .metrics import (BaseMetricEvaluator, FunctionEvaluator, ResponseMatchEvaluator, SimilarityMetric,
                      ToolTrajectoryEvaluator, TrajectoryMatch)
from .report import format_table, to_html, to_json

__all__ = [
    "ToolUsage", "DialogTurn", "EvalCase", "EvalSet", "MetricTurnResult", "MetricResult", "EvalCaseResult",
    "MetricSummary", "EvalSetResult", "AgentEvaluator", "BaseMetricEvaluator", "ToolTrajectoryEvaluator",
    "ResponseMatchEvaluator", "SimilarityMetric", "LLMJudgeEvaluator", "RubricBasedEvaluator", "JudgeVerdict",
    "FunctionEvaluator", "TrajectoryMatch", "case_from_messages", "case_from_session", "open_session",
    "format_table", "to_html", "to_json",
]
