"""Batch runs: many multi-step agent runs through a provider's batch API, at half the price.

    python examples/batch_runs.py
The loopback server plays OpenAI's Batch API (/v1/files, /v1/batches, the output file). Each run below needs a
tool call and then an answer, so the job takes two rounds: every run's first model call goes out in one batch,
the tools run here, and every run's second call goes out in the next. One prompt is refused by the model: only
its run fails. With `name=` and stored sessions, running the same job again after a crash resumes it.
"""

from __future__ import annotations

from agentsilex import Agent, Runner, tool
from agentsilex.testing import Fail, LoopbackServer, call


@tool
def word_count(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


def model_reply(messages, tools):
    last = messages[-1]
    if last["role"] == "tool":
        return f"That text has {last['content']} words."
    if "forbidden" in last["content"]:
        return Fail(400, "This request is not allowed.")
    return call("word_count", text=last["content"].partition(": ")[2])


prompts = ["Count: the quick brown fox", "Count: to be or not to be", "Count: forbidden words here",
           "Count: batch APIs answer within a day at half the price"]
with LoopbackServer(function=model_reply) as server:
    agent = Agent(name="counter", model=server.openai_model("gpt-4o-mini"), tools=[word_count])
    batch = Runner().run_batch(agent, prompts, poll_interval=0.01,
                               progress=lambda info: print(f"  sent {info['requests']} requests in one batch")
                               if info["event"] == "submitted" else None)
for index, result in enumerate(batch):
    print(f"{index}: {result.final_output if result else type(batch.errors[index]).__name__}")
print(f"{batch.rounds} rounds, {len(batch.batches)} provider batches")
print(f"cost ${batch.cost_usd:.6f} at the batch price, ${batch.full_price_usd:.6f} one by one")
