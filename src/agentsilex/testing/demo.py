"""The demo agent on a scripted model: something to chat with offline, with no API key.

    agentsilex chat agentsilex.testing.demo:agent
    agentsilex serve agentsilex.testing.demo:agent
    agentsilex run path/to/your_agent.py:agent "What is 5 + 3?" --model demo

`DemoModel` is a FunctionModel with a few fixed rules, so the same question always gets the same answer: it
does arithmetic with `add_numbers` / `multiply_numbers`, looks up `get_weather`, asks to `delete_file` (a
tool that needs approval), hands off to a poet, and otherwise answers in Markdown saying what it can do. It
uses a tool only if the agent it serves has one of that name. Its stream comes word by word, `delay`
seconds apart, so a person sees the text arrive.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any, AsyncIterator, Iterator

from ..agent import Agent
from ..models import ModelRequest
from ..models.stream import response_to_chunks
from ..tool import tool
from .script import FunctionModel, Reply, call

_ADD = re.compile(r"(-?\d+)\s*(?:\+|plus)\s*(-?\d+)", re.I)
_MULTIPLY = re.compile(r"(-?\d+)\s*(?:\*|x|×|times)\s*(-?\d+)", re.I)
_WEATHER = re.compile(r"weather\s+(?:in|at|for)\s+([A-Za-z][\w -]*\w)", re.I)
_DELETE = re.compile(r"\b(?:delete|remove)\s+(\S+)", re.I)
_POEM = re.compile(r"\b(poem|poet|verse)\b", re.I)

HELP = ("I am the **demo model**: scripted, offline, no API key. I can:\n\n"
        "- do sums: `What is 5 + 3?`, `12 times 7`\n"
        "- check the weather: `weather in Paris`\n"
        "- delete a file, *after you approve*: `delete old.log`\n"
        "- hand you over to a poet: `write a poem about the sea`\n")


def demo_reply(messages: list[dict], tools: list[dict]) -> Reply:
    """The demo rules: the next reply for a conversation, from the last message and the tools on offer."""
    names = {spec["function"]["name"] for spec in tools}
    last = messages[-1] if messages else {}
    if last.get("role") == "tool" and not _handed_over(messages):
        return _after_tools(messages)
    text = _last_user_text(messages)
    if "transfer_to_poet" in names and _POEM.search(text):
        return call("transfer_to_poet")
    for pattern, name in ((_ADD, "add_numbers"), (_MULTIPLY, "multiply_numbers")):
        found = pattern.search(text)
        if found and name in names:
            return call(name, a=int(found[1]), b=int(found[2]))
    if (found := _WEATHER.search(text)) and "get_weather" in names:
        return call("get_weather", city=found[1].strip())
    if (found := _DELETE.search(text)) and "delete_file" in names:
        return call("delete_file", path=found[1].rstrip(".?!"))
    return f"You said: *{_quote(text)}*\n\n{HELP}"


def poet_reply(messages: list[dict], tools: list[dict]) -> Reply:
    """The poet's rule: four lines about the topic of the last user message; anything but a poem goes back to
    the assistant (the conversation stays with the poet after a handoff, until it hands back)."""
    prompt = _last_user_text(messages)
    if not _POEM.search(prompt) and "transfer_to_assistant" in {spec["function"]["name"] for spec in tools}:
        return call("transfer_to_assistant")
    topic = re.sub(r"^.*?\babout\s+", "", prompt, flags=re.I).strip(" ?!.") or "the quiet machine"
    return (f"*A poem about {topic}*\n\n> Of {topic} I sing, in lines that scan,\n> a scripted muse, no GPU, no plan;\n"
            "> each word the same each time you ask,\n> for tests are glad of such a task.")


def _last_user_text(messages: list[dict]) -> str:
    return next((str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"), "")


def _handed_over(messages: list[dict]) -> bool:
    """Whether the last step was a handoff to the agent now answering (it answers the user's message)."""
    step = next((m for m in reversed(messages) if m.get("tool_calls")), None)
    return step is not None and all(c["function"]["name"].startswith("transfer_to_") for c in step["tool_calls"])


def _after_tools(messages: list[dict]) -> str:
    """Answer from the tool results of the last step."""
    results = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        results.insert(0, str(message.get("content") or ""))
    step = next((m for m in reversed(messages) if m.get("tool_calls")), {})
    calls = step.get("tool_calls") or []
    lines = []
    for tool_call, result in zip(calls, results):
        name = tool_call["function"]["name"]
        if name.startswith("transfer_to_"):
            continue
        arguments = json.loads(tool_call["function"]["arguments"] or "{}")
        if result.startswith("Error"):
            lines.append(f"`{name}` did not run: {result}")
        elif name == "add_numbers":
            lines.append(f"{arguments['a']} + {arguments['b']} = **{result}**")
        elif name == "multiply_numbers":
            lines.append(f"{arguments['a']} × {arguments['b']} = **{result}**")
        else:
            lines.append(f"`{name}` says: {result}")
    return "\n\n".join(lines) or "Done."


def _quote(text: str) -> str:
    return " ".join(text.split())[:200]


class DemoModel(FunctionModel):
    """A deterministic model for demos: `demo_reply` by default, streamed word by word."""

    def __init__(self, function: Any = demo_reply, *, name: str = "demo", delay: float = 0.02) -> None:
        super().__init__(function, name=name)
        self.delay = delay

    def stream(self, request: ModelRequest) -> Iterator[dict]:
        for chunk in response_to_chunks(self.complete(request), piece=6, model=self.name):
            if self.delay and _has_text(chunk):
                time.sleep(self.delay)
            yield chunk

    async def stream_async(self, request: ModelRequest) -> AsyncIterator[dict]:
        for chunk in response_to_chunks(self.complete(request), piece=6, model=self.name):
            if self.delay and _has_text(chunk):
                await asyncio.sleep(self.delay)
            yield chunk


def _has_text(chunk: dict) -> bool:
    return any((choice.get("delta") or {}).get("content") for choice in chunk.get("choices") or [])


@tool
def add_numbers(a: int, b: int) -> int:
    """Add two numbers together."""
    return a + b


@tool
def multiply_numbers(a: int, b: int) -> int:
    """Multiply two numbers together."""
    return a * b


@tool
def get_weather(city: str) -> str:
    """The weather in a city (made up, but always the same for the same city)."""
    kinds = ["sunny", "cloudy", "rainy", "windy", "snowy"]
    score = sum(city.lower().encode())
    return f"{kinds[score % len(kinds)]}, {score % 25 + 5} °C in {city}"


@tool(needs_approval=True)
def delete_file(path: str) -> str:
    """Delete a file (pretend: nothing is deleted; the demo shows the approval step)."""
    return f"deleted {path}"


poet = Agent(name="poet", model=DemoModel(poet_reply, name="demo-poet"), description="Writes short poems.",
             instructions="You write short poems about what the user asks.")

agent = Agent(name="assistant", model=DemoModel(),
              description="The offline demo: does sums, reads the (made-up) weather, deletes files once you "
                          "approve, and hands poems to a poet.",
              instructions="You are a helpful assistant. Use the tools for sums, weather and files; hand poems "
                           "to the poet.",
              tools=[add_numbers, multiply_numbers, get_weather, delete_file], handoffs=[poet])
poet.handoffs.append(agent)  # and back: after a handoff the conversation stays with the poet until it hands back
