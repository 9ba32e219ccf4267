"""Served targets that a run would hold to its rules: approvals, guardrails, secrets in errors. For the tests of
issue 21: `python -m agentsilex.mcp serve guarded:targets` (from this folder) or `python guarded.py http PORT`.

Every tool that does something appends a line to the file named by $GUARDED_LOG, so a test (in another
process) sees exactly what ran.
"""

from __future__ import annotations

import os
import sys

from agentsilex import Agent, tool
from agentsilex.testing import FunctionModel, call


def _did(line: str) -> None:
    with open(os.environ["GUARDED_LOG"], "a", encoding="utf-8") as log:
        log.write(line + "\n")


@tool(needs_approval=True)
def delete_file(path: str) -> str:
    """Delete a file (needs a person's approval)."""
    _did(f"deleted {path}")
    return f"deleted {path}"


@tool(needs_approval=lambda context, arguments: arguments["amount"] > 100)
def transfer(amount: int) -> str:
    """Send money; more than 100 needs approval."""
    _did(f"sent {amount}")
    return f"sent {amount}"


def no_forbidden(context, tool_name, arguments):
    return "forbidden word" if "forbidden" in arguments["text"] else None


def no_leak(context, tool_name, arguments, result):
    return "leaks a secret" if "leak" in result else None


@tool(input_guardrails=[no_forbidden], output_guardrails=[no_leak])
def echo(text: str) -> str:
    """Say the text back."""
    _did(f"echoed {text}")
    return text


@tool
def connect_db() -> str:
    """Fails with the database password in its message, as careless code does."""
    raise RuntimeError(f"login failed for admin with password {os.environ['SERVED_DB_PASSWORD']} at "
                       f"postgresql://admin:hunter2hunter2@db.internal/app (signed {os.environ['SERVED_SIGNING_KEY']})")


def janitor_model(messages: list[dict], tools: list[dict]):
    if any(m["role"] == "tool" for m in messages):
        return "done"
    return call("delete_file", path="/important.db")


janitor = Agent(name="janitor", model=FunctionModel(janitor_model), instructions="Clean up.", tools=[delete_file])
targets = [delete_file, transfer, echo, connect_db, janitor]

if __name__ == "__main__":
    from agentsilex.mcp import serve_mcp

    if len(sys.argv) > 2 and sys.argv[1] == "http":
        serve_mcp(*targets, name="guarded", transport="http", port=int(sys.argv[2]))
    else:
        serve_mcp(*targets, name="guarded")
