"""Evaluate the weather agent on a set that should pass (agentsilex 1.0's evaluation API, offline).

Run: python examples/eval_weather.py   (or: agentsilex eval examples/eval_data/weather_agent.py:agent
examples/eval_data/weather_agent_eval.json --html report.html)
"""

from pathlib import Path

from eval_data.weather_agent import agent, judge_model  # the agent and judge, played offline

from agentsilex.evaluation import (AgentEvaluator, EvalSet, LLMJudgeEvaluator, ResponseMatchEvaluator,
                                   SimilarityMetric, ToolTrajectoryEvaluator)


def main() -> None:
    eval_set = EvalSet.load(Path(__file__).parent / "eval_data" / "weather_agent_eval.json")
    print(f"{len(eval_set.cases)} cases")
    evaluator = AgentEvaluator(agent=agent, evaluators=[
        ToolTrajectoryEvaluator(threshold=1.0),
        ResponseMatchEvaluator(threshold=0.5, metric=SimilarityMetric.ROUGE_1),
        LLMJudgeEvaluator(threshold=0.5, model=judge_model, num_samples=1),
    ])
    result = evaluator.evaluate(eval_set)

    print(f"Overall passed: {result.passed} ({result.passed_cases}/{result.total_cases} cases)")
    for name, summary in result.metric_summaries.items():
        print(f"  {name}: avg={summary.avg_score:.3f} pass_rate={summary.pass_rate:.1%} "
              f"({summary.passed_count}/{summary.total_count})")
    for case in result.case_results:
        print(f"{case.eval_id}: passed={case.passed}")
        for name, metric in case.metric_results.items():
            turns = ", ".join(f"turn {i + 1}={t.score:.3f}" for i, t in enumerate(metric.turn_results))
            print(f"    {name}: score={metric.score:.3f} passed={metric.passed} ({turns})")


if __name__ == "__main__":
    main()
