"""The benchmark workload's model, for the loopback server: one tool call, then the final text.

    python -m agentsilex.testing.server --function bench.policy:reply
"""

from __future__ import annotations

from agentsilex.testing import call


def reply(messages: list[dict], tools: list[dict]):
    """First request: call add(a=1, b=1); once the tool answered: "done: <result>"."""
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return f"done: {last['content']}"
    return call("add", a=1, b=1)
