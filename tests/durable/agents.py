"""The agents the durable tests run, imported by the test process and by every worker process alike.

The model is the loopback server (its URL in OPENAI_BASE_URL); the tools write what they do to the file named by
DURABLE_LOG, one line per event with the worker's pid, so a test can see what ran where, and how often."""

from __future__ import annotations

import asyncio
import os
import time

from pydantic import BaseModel

from agentsilex import Agent, current_tool_call, tool


def log(*words: object) -> None:
    with open(os.environ["DURABLE_LOG"], "a") as file:  # one write per line: lines never interleave
        file.write(" ".join(str(w) for w in (os.getpid(), *words)) + "\n")


def lines() -> list[list[str]]:
    path = os.environ["DURABLE_LOG"]
    if not os.path.exists(path):
        return []
    with open(path) as file:
        return [line.split() for line in file.read().splitlines()]


@tool
def note(text: str) -> str:
    """Write a note."""
    info = current_tool_call()
    log("note", text, info.call_id, info.idempotency_key)
    return f"noted {text}"


@tool
def slow(text: str) -> str:
    """Do something slow with a side effect (the first attempt takes long: the test kills its worker then)."""
    info = current_tool_call()
    retried = any(line[1:3] == ["start", info.idempotency_key] for line in lines())
    log("start", info.idempotency_key, info.call_id)
    deadline = time.monotonic() + (0.2 if retried else float(os.environ.get("DURABLE_SLOW", "60")))
    while time.monotonic() < deadline:
        time.sleep(0.05)
    log("done", info.idempotency_key)
    return f"did {text}"


@tool(needs_approval=True)
async def wire(amount: int) -> str:
    """Wire money (needs a human's approval)."""
    await asyncio.sleep(0)
    log("wire", amount, current_tool_call().idempotency_key)
    return f"wired {amount}"


@tool
def big(size: int) -> str:
    """Return a large text."""
    return "x" * size


class Refund(BaseModel):
    order: str
    amount: int


def agents() -> list[Agent]:
    """The agents a run may start with: `worker`, and `front`, which hands off to `billing` (structured output)
    and uses `worker` as a tool."""
    worker = Agent(name="worker", model="gpt-4o", instructions="You do tasks with tools.",
                   tools=[note, slow, wire, big])
    billing = Agent(name="billing", model="gpt-4o", instructions="You issue refunds.", output_type=Refund)
    front = Agent(name="front", model="gpt-4o", instructions="You route requests.", handoffs=[billing],
                  tools=[worker.as_tool(tool_name="ask_worker")])
    return [worker, front]
