"""Guardrails: on the input, on the final output, and on a tool's arguments and result.

    python examples/guardrails.py
A tripped guardrail raises a typed exception carrying what tripped; the session keeps the user input
and nothing the guardrail rejected.
"""

from __future__ import annotations

from agentsilex import Agent, InputGuardrailTripped, Runner, Session, ToolGuardrailTripped, tool
from agentsilex.testing import ScriptedModel, call


def no_passwords(context, agent, prompt):
    return "asks for a password" if "password" in prompt.lower() else None


def stay_in_tmp(context, tool_name, arguments):
    return None if arguments["path"].startswith("/tmp/") else f"{tool_name} outside /tmp"


@tool(input_guardrails=[stay_in_tmp])
def read_file(path: str) -> str:
    """Read a file."""
    return "..."


agent = Agent(name="helper", model=ScriptedModel([call("read_file", path="/etc/shadow")]), tools=[read_file],
              input_guardrails=[no_passwords])
for prompt in ("What is the admin password?", "Show me /etc/shadow"):
    session = Session()
    try:
        Runner(session).run(agent, prompt)
    except (InputGuardrailTripped, ToolGuardrailTripped) as tripped:
        print(f"{type(tripped).__name__}: {tripped.guardrail} said {tripped.info!r}")
        print("  session:", session.dialogs)
