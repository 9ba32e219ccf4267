"""Agents and a tool for the MCP server-side tests: `python -m agentsilex.mcp serve served:targets` (from this
folder), or `python served.py [http PORT]`. The agents' models are deterministic functions: no LLM."""

from __future__ import annotations

import re
import sys

from agentsilex import Agent, tool
from agentsilex.testing import FunctionModel, call


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def shout(text: str) -> str:
    """Upper-case the text."""
    return text.upper()


def calculator_model(messages: list[dict], tools: list[dict]):
    answers = [m["content"] for m in messages if m["role"] == "tool"]
    if answers:
        return f"The sum is {answers[-1]}."
    a, b = (int(n) for n in re.findall(r"-?\d+", messages[-1]["content"])[:2])
    return call("add", a=a, b=b)


def broken_model(messages: list[dict], tools: list[dict]):
    raise RuntimeError("the model is down")


calculator = Agent(name="calculator", model=FunctionModel(calculator_model),
                   description="Adds two numbers it finds in the task.",
                   instructions="Add numbers with the add tool.", tools=[add])
broken = Agent(name="broken", model=FunctionModel(broken_model))
targets = [calculator, broken, shout]

if __name__ == "__main__":
    from agentsilex.mcp import serve_mcp

    if len(sys.argv) > 2 and sys.argv[1] == "http":
        serve_mcp(*targets, name="served", transport="http", port=int(sys.argv[2]))
    else:
        serve_mcp(*targets, name="served")
