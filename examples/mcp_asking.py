"""MCP servers that ask back: sampling (the server asks the client's model) and elicitation (the server asks the
person). Both are off unless you opt in, per server. Needs the mcp extra (pip install -e '.[mcp]').

The bundled stdio server mcp_servers/asking.py has `summarize` (it samples) and `book_table` (it asks how many
people). Here the sampling model is a deterministic function with a budget of two requests, and the person is
a function too; `agentsilex chat` asks at the prompt instead, and `agentsilex serve` shows a form in the page.
"""

import sys
from pathlib import Path

from agentsilex import Agent, Runner
from agentsilex.mcp import MCPServer
from agentsilex.mcp.sampling import Sampling
from agentsilex.questions import Question, answering
from agentsilex.testing import FunctionModel, call

config = {"command": sys.executable, "args": [str(Path(__file__).parent / "mcp_servers" / "asking.py")]}


def cheap_model(messages: list[dict], tools: list[dict]) -> str:
    """Stands in for e.g. "gpt-4o-mini": the model that answers the server's sampling requests."""
    return "Tea is good."


def booker(messages: list[dict], tools: list[dict]):
    if messages[-1]["role"] == "tool":
        return messages[-1]["content"]
    return call("book_table", restaurant="Luigi")


def person(question: Question) -> dict:
    """Stands in for the person watching the run: `agentsilex chat` would ask them at the prompt."""
    print(f"{question.server} asks: {question.message} -> 4, on the terrace")
    return {"people": 4, "terrace": True}


sampling = Sampling(FunctionModel(cheap_model, name="cheap-model"), max_requests=2, max_tokens=2_000)
with MCPServer(config, name="asking", sampling=sampling, elicitation="ask") as server:
    print(server.call("summarize", {"text": "A long text about tea."}))
    print(f"sampling spent: {sampling.used_requests} of {sampling.max_requests} requests")
    agent = Agent(name="booker", model=FunctionModel(booker), tools=server.tools())
    with answering(person):  # who answers the server's questions during these runs
        print("answer:", Runner().run(agent, "Book a table at Luigi's").final_output)
    print("with no one to ask:", Runner().run(agent, "Book a table at Luigi's").final_output)
