"""Evaluate the weather agent on a set built to fail in two places: the evaluators must catch both.

Run: python examples/eval_weather_failures.py
"""

from pathlib import Path

from eval_data.weather_agent import agent, judge_model

from agentsilex.evaluation import (AgentEvaluator, EvalSet, LLMJudgeEvaluator, ResponseMatchEvaluator,
                                   SimilarityMetric, ToolTrajectoryEvaluator)


def main() -> None:
    eval_set = EvalSet.load(Path(__file__).parent / "eval_data" / "weather_agent_eval_with_failures.json")
    print(f"{len(eval_set.cases)} cases, two of them expected to fail")
    evaluator = AgentEvaluator(agent=agent, evaluators=[
        ToolTrajectoryEvaluator(threshold=1.0),
        ResponseMatchEvaluator(threshold=0.6, metric=SimilarityMetric.ROUGE_1),
        LLMJudgeEvaluator(threshold=0.5, model=judge_model, num_samples=1),
    ])
    result = evaluator.evaluate(eval_set)

    print(f"Overall passed: {result.passed} ({result.passed_cases}/{result.total_cases} cases)")
    for name, summary in result.metric_summaries.items():
        print(f"  {name}: avg={summary.avg_score:.3f} min={summary.min_score:.3f} max={summary.max_score:.3f} "
              f"pass_rate={summary.pass_rate:.1%} ({summary.passed_count}/{summary.total_count})")
    for case in result.case_results:
        print(f"[{'PASS' if case.passed else 'FAIL'}] {case.eval_id}")
        for name, metric in case.metric_results.items():
            why = next((t.detail for t in metric.turn_results if not t.passed and t.detail), "")
            print(f"    {'✓' if metric.passed else '✗'} {name}: score={metric.score:.3f} {why}".rstrip())


if __name__ == "__main__":
    main()
