"""Parallel tools, timeouts, retries and a fallback model -- offline, against the loopback server.

    python examples/parallel_retries.py
"""

from __future__ import annotations

import asyncio
import os
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from agentsilex import Agent, Runner, Session, tool  # noqa: E402
from agentsilex.models.litellm import load_litellm  # noqa: E402
from agentsilex.models.retry import RetryPolicy  # noqa: E402
from agentsilex.testing import Fail, LoopbackServer, call  # noqa: E402


@tool
async def fetch_weather(city: str) -> str:
    """Weather for a city (pretend it is a slow HTTP API)."""
    await asyncio.sleep(0.3)
    return f"{city}: 21 C, sunny"


@tool
def lookup_population(city: str) -> int:
    """Population of a city (a blocking call: it runs in a worker thread)."""
    time.sleep(0.3)
    return {"Tokyo": 14_000_000, "Osaka": 2_700_000}.get(city, 0)


def main() -> None:
    # The primary endpoint is rate-limited once (429 + Retry-After), then answers with two parallel
    # tool calls; on the second turn it fails for good (500 forever) and the fallback model answers.
    primary = LoopbackServer([
        Fail(429, "slow down", headers={"Retry-After": "0.2"}),
        [call("fetch_weather", city="Tokyo"), call("lookup_population", city="Tokyo")],
        Fail(500, "the primary is down", forever=True),
    ]).start()
    backup = LoopbackServer(["Tokyo: 21 C and sunny, about 14 million people."]).start()
    try:
        agent = Agent(name="city_guide", model=primary.litellm_model(), tools=[fetch_weather, lookup_population],
                      fallback_models=[backup.litellm_model()])
        session = Session()
        runner = Runner(session, tool_timeout=5, model_timeout=10, max_parallel_tools=4,
                        retry=RetryPolicy(max_retries=2, initial_delay=0.05))
        load_litellm()  # import LiteLLM (seconds) before the clock starts
        started = time.perf_counter()
        for event in runner.run_stream(agent, "Tell me about Tokyo."):
            if event.type == "tool_call":
                print(f"  -> {event.name}({event.arguments})")
            elif event.type == "tool_response":
                print(f"  <- {event.name}: {event.content}")
            elif event.type == "final_result":
                print(f"answer: {event.final_output}")
        print(f"took {time.perf_counter() - started:.2f} s (two 0.3 s tools ran side by side); "
              f"primary got {len(primary.requests)} requests, backup {len(backup.requests)}")
        print("session:", [m["role"] for m in session.dialogs])
    finally:
        primary.stop()
        backup.stop()


if __name__ == "__main__":
    main()
