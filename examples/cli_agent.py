"""Your own agent, from the command line: point `agentsilex` at this file.

    agentsilex run examples/cli_agent.py:agent "What is 5 + 3?" --model demo    # one answer, streamed
    agentsilex chat examples/cli_agent.py:agent --model demo                    # a chat in the terminal
    agentsilex serve examples/cli_agent.py:agent --model demo                   # a chat in the browser

`--model demo` swaps in the bundled scripted model, so all three work offline with no API key; leave it out
to use the agent's own model (gpt-4o-mini: set OPENAI_API_KEY). Run as a script, this file does the first
command for you.
"""

from __future__ import annotations

from agentsilex import Agent, tool


@tool
def add_numbers(a: int, b: int) -> int:
    """Add two numbers together."""
    return a + b


@tool(needs_approval=True)
def delete_file(path: str) -> str:
    """Delete a file (asks a human first)."""
    return f"deleted {path}"


agent = Agent(name="calculator", model="gpt-4o-mini", instructions="You are a calculator. Use tools for math.",
              tools=[add_numbers, delete_file])

if __name__ == "__main__":
    from agentsilex.cli import app

    app(["run", f"{__file__}:agent", "What is 5 + 3?", "--model", "demo"])
