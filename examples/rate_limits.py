"""Rate limits shared by every run: requests wait for their turn instead of stampeding the provider.

    python examples/rate_limits.py
A loopback server enforces 600 requests a minute (answering 429 over it, as a provider does). Eight workers make
48 requests: on their own they get 429s; sharing one RateLimits they get none, and the waits show as
`rate_limited` events. Across processes, give the same store: RateLimits({...}, store="redis://localhost:6379").
"""

from __future__ import annotations

import threading

from agentsilex import Agent, ModelError, RateLimits, RetryPolicy, Runner, Session, tool
from agentsilex.testing import LoopbackServer, call


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def model_reply(messages, tools):
    return f"done: {messages[-1]['content']}" if messages[-1]["role"] == "tool" else call("add", a=2, b=3)


def workers(agent: Agent, limits: RateLimits | None) -> int:
    """Eight threads, three runs each, no retries (so that every 429 shows); returns the runs that failed."""
    failed = []

    def work() -> None:
        for _ in range(3):
            try:
                Runner(Session(), rate_limits=limits, retry=RetryPolicy(max_retries=0)).run(agent, "2 + 3?")
            except ModelError:
                failed.append(1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(failed)


for shared in (False, True):
    with LoopbackServer(function=model_reply, rate_limit={"rpm": 600}) as server:
        agent = Agent(name="calc", model=server.openai_model("gpt-4o-mini"), tools=[add])
        limits = RateLimits({"gpt-4o-mini": {"rpm": 600}}) if shared else None
        failed = workers(agent, limits)
        stats = server.rate_limit.stats()
        print(f"{'one RateLimits for all' if shared else 'no RateLimits'}: {24 - failed}/24 runs done, "
              f"{stats['refused']} requests answered 429")
        if shared:
            stream = Runner(Session(), rate_limits=limits).run_stream(agent, "once more")
            waits = [event for event in stream if event.type == "rate_limited"]
            print(f"a run right after waited {len(waits)} time(s) for its turn, under the {waits[0].limit} limit")
