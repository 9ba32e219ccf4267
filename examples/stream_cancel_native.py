"""Streaming, stopping early, cancelling -- and the native OpenAI path -- offline, on the loopback server.

    python examples/stream_cancel_native.py
"""

from __future__ import annotations

import asyncio
import time

from agentsilex import Agent, Runner, Session
from agentsilex.testing import LoopbackServer


async def many_runs(agent: Agent, count: int) -> list[str]:
    """`count` independent conversations at once, on one event loop."""
    results = await asyncio.gather(*(Runner(Session()).run_async(agent, f"question {i}") for i in range(count)))
    return [result.final_output for result in results]


def main() -> None:
    with LoopbackServer(function=lambda messages, tools: "A long, long answer. " * 20, latency=0.05) as server:
        agent = Agent(name="talker", model=server.openai_model())  # OpenAIHTTPModel: no LiteLLM in the path
        session = Session()
        runner = Runner(session, model_timeout=5, stream_idle_timeout=2)

        # 1. Stream, and stop after the first few words: the session stays valid (nothing half-written).
        with runner.run_stream(agent, "Tell me everything.") as stream:
            words = []
            for event in stream:
                if event.type == "partial_output":
                    words.append(event.content)
                    if len(words) == 3:
                        break
        print("first pieces:", "".join(words))
        print("session after stopping early:", session.dialogs)

        # 2. Cancel an async run: CancelledError propagates, nothing keeps running.
        async def cancel_one() -> None:
            task = asyncio.create_task(runner.run_async(agent, "Never mind."))
            await asyncio.sleep(0.01)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                print("cancelled; tasks still running:", len(asyncio.all_tasks()) - 1)
        asyncio.run(cancel_one())

        # 3. Many concurrent runs: wall time stays close to the server's latency.
        started = time.perf_counter()
        answers = asyncio.run(many_runs(agent, 100))
        print(f"100 concurrent runs in {time.perf_counter() - started:.2f} s "
              f"(server latency 0.05 s), {len(set(answers))} distinct answer(s)")


if __name__ == "__main__":
    main()
