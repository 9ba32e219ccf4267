"""The main demo: the seed's calculator and memory examples, offline, with no API key.

The model is agentsilex's ScriptedModel (the testing kit's deterministic stand-in), so you can see every
step the Runner takes: each tool call, and the session at the end.
    python examples/demo.py            # scripted model, in-process
    python examples/demo.py --http     # the same, through LiteLLM and HTTP to the loopback server
    python examples/demo.py --model local/smollm2   # a real (tiny) model, in process and offline:
                                                    # pip install 'agentsilex[local]' first
"""

from __future__ import annotations

import dataclasses
import sys

from agentsilex import Agent, RunHooks, Runner, Session, tool
from agentsilex.testing import LoopbackServer, ScriptedModel, call
from agentsilex.utils import print_dialog_history


@tool
def add_numbers(a: int, b: int) -> int:
    """Add two numbers together."""
    return a + b


@tool
def multiply_numbers(a: int, b: int) -> int:
    """Multiply two numbers together."""
    return a * b


@tool
def remember(key: str, value: str) -> str:
    """Remember something."""
    return f"I'll remember that {key} is {value}"


CALCULATOR_SCRIPT = [call("add_numbers", a=5, b=3), call("multiply_numbers", a=8, b=2), "The result is 16"]
MEMORY_SCRIPT = [call("remember", key="favorite color", value="blue"), "Got it: blue.",
                 "Your favorite color is blue!"]


class ToolFirst(RunHooks):
    """For a real model too small to choose tools well: require a tool call until one has been answered in this
    turn (tool_choice="required"), then let it answer in words."""

    def before_model_call(self, context, agent, request):
        turn = request.messages[max(i for i, m in enumerate(request.messages) if m["role"] == "user"):]
        if not any(m["role"] == "tool" for m in turn):
            return dataclasses.replace(request, settings=request.settings.merged(tool_choice="required"))
        return request


def show_run(runner: Runner, agent: Agent, prompt: str) -> None:
    print(f"\nuser> {prompt}")
    stream = runner.run_stream(agent, prompt)
    for event in stream:
        if event.type == "tool_call":
            print(f"  tool call   {event.name}({event.arguments})")
        elif event.type == "tool_response":
            print(f"  tool result {event.content}")
    print(f"{agent.name}> {stream.result.final_output}")


def main(model_for, hooks: RunHooks | None = None) -> None:
    print("== Calculator (seed section 4.8) ==")
    calculator = Agent(name="calculator", model=model_for(CALCULATOR_SCRIPT),
                       instructions="You are a calculator. Use tools for math.",
                       tools=[add_numbers, multiply_numbers])
    session = Session()
    show_run(Runner(session, hooks=hooks), calculator, "What is (5 + 3) * 2?")
    print_dialog_history(session)

    print("\n== Memory across turns (seed section 4.5) ==")
    memory_bot = Agent(name="memory_bot", model=model_for(MEMORY_SCRIPT),
                       instructions="You are helpful. Remember things when asked.", tools=[remember])
    session = Session()
    runner = Runner(session, hooks=hooks)
    show_run(runner, memory_bot, "My favorite color is blue")
    show_run(runner, memory_bot, "What's my favorite color?")
    print_dialog_history(session)
    print(f"{len(session.dialogs)} messages in the session")


if __name__ == "__main__":
    if "--model" in sys.argv:  # a real model string instead of the script, e.g. local/smollm2
        name = sys.argv[sys.argv.index("--model") + 1]
        main(lambda script: name, ToolFirst())
    elif "--http" in sys.argv:
        servers: list[LoopbackServer] = []

        def over_http(script):
            servers.append(LoopbackServer(script).start())
            return servers[-1].litellm_model("gpt-4o")

        try:
            main(over_http)
        finally:
            for server in servers:
                server.stop()
    else:
        main(ScriptedModel)
