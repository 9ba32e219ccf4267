"""An agent served as an MCP tool, called by an MCP client: the other way round from mcp_demo.py.

`python -m agentsilex.mcp serve examples/mcp_serve.py:researcher` serves the agent below over stdio (add
`--http --port 8000` for streamable HTTP), so an IDE or another framework can call it. Here this program is
also the client: it starts that command, lists the tools and calls the agent. Each call runs the agent on a
fresh session; progress and errors go back over MCP. Offline: the agent's model is a deterministic function.
"""

import sys

from agentsilex import Agent, tool
from agentsilex.testing import FunctionModel, call


@tool
def lookup(topic: str) -> str:
    """Look a topic up in the (tiny) encyclopedia."""
    return {"mcp": "The Model Context Protocol connects LLM apps to tools and data."}.get(topic.lower(), "unknown")


def research(messages: list[dict], tools: list[dict]):
    found = [m["content"] for m in messages if m["role"] == "tool"]
    return f"Summary: {found[-1]}" if found else call("lookup", topic=messages[-1]["content"].split()[-1])


researcher = Agent(name="researcher", model=FunctionModel(research), tools=[lookup],
                   instructions="Look the topic up, then summarise it.")

if __name__ == "__main__":
    from agentsilex.mcp import MCPServer

    command = {"command": sys.executable, "args": ["-m", "agentsilex.mcp", "serve", f"{__file__}:researcher"]}
    with MCPServer(command, name="researcher-server") as server:
        print("served tools:", [item.name for item in server.tools()])
        print("answer:", server.call("researcher", {"input": "Tell me about MCP"}))
