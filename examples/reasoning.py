"""Reasoning that survives tool calls: thinking (with its signature) stored and sent back to its provider.

    python examples/reasoning.py
The loopback server answers the way Anthropic's extended thinking arrives through LiteLLM: reasoning text
and signed thinking blocks. The stream shows the reasoning as its own event type.
"""

from __future__ import annotations

from agentsilex import Agent, Runner, Session, tool
from agentsilex.testing import LoopbackServer

THINKING = "The user asks about Oslo; check the weather tool before answering."
REPLY = {"content": None, "reasoning_content": THINKING,
         "thinking_blocks": [{"type": "thinking", "thinking": THINKING, "signature": "EqQBCkYIBxgCKkB..."}],
         "tool_calls": [{"id": "call_1", "type": "function",
                         "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}]}


@tool
def weather(city: str) -> str:
    """Today's weather in a city."""
    return f"{city}: 4 C and rain"


with LoopbackServer([REPLY, "Take an umbrella: 4 C and rain in Oslo."]) as server:
    agent = Agent(name="planner", model=server.litellm_model(), tools=[weather])
    session = Session()
    stream = Runner(session).run_stream(agent, "Do I need an umbrella in Oslo?")
    thinking = []
    for event in stream:
        if event.type == "reasoning_delta":
            thinking.append(event.content)
        elif event.type != "raw_chunk" and thinking:
            print("[thinking]", "".join(thinking), f"({len(thinking)} deltas)")
            thinking.clear()
        if event.type == "partial_output":
            print(event.content, end="")
        elif event.type == "tool_call":
            print(f"[tool] {event.name}({event.arguments})")
    print()
    sent_back = server.requests[1]["messages"][1]
    print("signature sent back:", sent_back["thinking_blocks"][0]["signature"])
    print("stored with:", sorted(key for key in session.dialogs[1] if key not in ("role", "content")))
