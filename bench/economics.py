"""Batch runs and streamed structured output, measured (the rate-limit rows are bench/rate_limits.py).

    .venv/bin/python bench/economics.py            # both parts (~1 minute)

1. An evaluation set of 200 multi-step cases (1 to 3 tool calls each, a quarter with a second turn), run one by one
   (AgentEvaluator, 4 at a time) and as a batch (AgentEvaluator(batch="openai")) against the loopback server, which
   emulates OpenAI's Batch API and answers each batch at once: wall time here is the framework's, not the
   provider's (a real batch takes minutes to hours). Prices are gpt-4o-mini's, from LiteLLM's table.
2. A long structured answer (a recipe with 100 steps, ~7 KB of JSON) streamed in 16-character chunks: how far into
   the stream the first partial object (and the first complete step) arrives, and what parsing the partial
   objects costs.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def batch_rows() -> list[str]:
    from test_batch import _eval_set, agent_on, worker  # the workload the tests use, at 200 cases

    from agentsilex.evaluation import AgentEvaluator, ResponseMatchEvaluator, SimilarityMetric, ToolTrajectoryEvaluator
    from agentsilex.models.catalog import request_cost
    from agentsilex.testing import LoopbackServer

    def evaluators() -> list:
        return [ResponseMatchEvaluator(1.0, metric=SimilarityMetric("exact")), ToolTrajectoryEvaluator(1.0)]

    cases = _eval_set(200)
    rows = []
    for kind in ("one by one", "batch"):
        worker.flaked.clear()
        with LoopbackServer(function=worker) as server:
            options = {"batch": "openai", "batch_options": {"poll_interval": 0.05}} if kind == "batch" else {}
            started = time.perf_counter()
            result = AgentEvaluator(agent_on(server), evaluators(), concurrency=4, **options).evaluate(cases)
            wall = time.perf_counter() - started
            requests = sum(c.requests for c in result.case_results)
            http = len(server.request_headers) + server.batches.calls  # chat completions + files and batches
        info = result.batch or {}
        cost = result.cost_usd if kind == "batch" else sum(  # one by one: the ordinary price of the same tokens
            request_cost("gpt-4o-mini", c.input_tokens, c.output_tokens) for c in result.case_results)
        rows.append(f"| {kind} | {result.passed_cases}/{result.total_cases} | {requests} | "
                    f"{info.get('batches', '-')} / {info.get('rounds', '-')} | {http} | {wall:.1f} s | ${cost:.4f} |")
    return rows


def streaming_rows() -> list[str]:
    from pydantic import BaseModel

    from agentsilex import Agent, Runner
    from agentsilex.features.partial_output import PartialOutput
    from agentsilex.testing import ScriptedModel

    class Step(BaseModel):
        title: str
        minutes: int

    class Recipe(BaseModel):
        name: str
        steps: list[Step]

    recipe = Recipe(name="A long feast", steps=[Step(title=f"Step {n}: stir, taste and season the pot again", minutes=n)
                                                for n in range(100)])
    answer = recipe.model_dump_json()
    agent = Agent(name="chef", model=ScriptedModel([answer] * 6), output_type=Recipe)
    firsts, first_steps, chunks = [], [], 0
    for _ in range(5):
        events = list(Runner().run_stream(agent, "feast"))
        parts = [e for e in events if e.type == "partial_output"]
        chunks = len(parts)
        firsts.append(next(i for i, e in enumerate(parts) if e.output is not None and e.output.name) + 1)
        first_steps.append(next(i for i, e in enumerate(parts) if e.output.steps and e.output.steps[0].minutes
                                is not None) + 1)
    spec_agent = Agent(name="chef", model="gpt-4o-mini", output_type=Recipe)
    follower = PartialOutput(spec_agent, "native")
    started = time.perf_counter()
    for end in range(16, len(answer) + 16, 16):
        follower.update(answer[:end])
    parse_ms = (time.perf_counter() - started) * 1000
    return [f"| chunks in the answer | {chunks} ({len(answer):,} characters) |",
            f"| first partial object (the name) | after chunk {statistics.median(firsts):.0f} |",
            f"| first complete step | after chunk {statistics.median(first_steps):.0f} |",
            f"| the validated object (as before) | after chunk {chunks} |",
            f"| parsing every partial object of the answer | {parse_ms:.0f} ms in all, "
            f"{parse_ms / chunks * 1000:.0f} us a chunk |"]


def main() -> None:
    print("| run | cases passed | model requests | provider batches / rounds | HTTP requests | wall time | price |")
    print("|---|---|---|---|---|---|---|")
    for row in batch_rows():
        print(row, flush=True)
    print("\n| streamed structured output | |\n|---|---|")
    for row in streaming_rows():
        print(row, flush=True)


if __name__ == "__main__":
    main()
