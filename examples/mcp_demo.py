"""Tools from an MCP server in an agent, written as for agentsilex 1.0: `mcp_tools(server_config)`, then
`Agent(tools=tools)`. Needs the mcp extra (pip install -e '.[mcp]').

Runs offline: the MCP server is the bundled stdio server in mcp_servers/calculator.py, and a scripted model
stands in for the LLM. With a real model, use e.g. `model="gpt-4o"` and
`server_config = {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"]}`.
The server process starts once and serves every call until the program exits (not one process per call).
"""

import sys
from pathlib import Path

from agentsilex import Agent, Runner, Session
from agentsilex.mcp import mcp_tools
from agentsilex.testing import ScriptedModel, call

server_config = {"command": sys.executable, "args": [str(Path(__file__).parent / "mcp_servers" / "calculator.py")]}

tools = mcp_tools(server_config)

print(f"Loaded {len(tools)} tools from MCP server:")
for item in tools:
    print(f"  - {item.name}: {item.description}")
print()

model = ScriptedModel([call("add", a=123, b=456), call("multiply", a=579, b=2), call("chart"),
                       "123 + 456 = 579, and twice that is 1158 (chart attached)."])
agent = Agent(
    name="MCP Calculator Agent",
    model=model,
    instructions="You are a helpful assistant. Use the provided tools to help the user.",
    tools=tools,  # just like normal tools
)

session = Session()
result = Runner(session).run(agent, "Please add 123 and 456, then double it.")

for done in result.function_calls:
    print(f"{done.name}({done.arguments}) -> {done.content}")
# An MCP image is a content part: the tool message names it, the next user message shows it to the model.
print("chart attachments:", [part["type"] for part in result.function_calls[2].attachments])
print("Final output:", result.final_output)
