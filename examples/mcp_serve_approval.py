"""Serving over MCP keeps a tool's approval: `delete_file` runs only when the client's user approves it.

`python -m agentsilex.mcp serve examples/mcp_serve_approval.py:served` serves the tool and the agent below.
Here this program is also the client (the MCP SDK's own): a client that can ask its user (elicitation) gets the
question and the tool runs only on "approve"; a client that cannot ask gets an error naming the approval, and
an agent whose run pauses for approval answers an error listing the waiting call. Nothing runs unapproved.
Offline: the agent's model is a deterministic function.
"""

import sys

import anyio

from agentsilex import Agent, tool
from agentsilex.testing import FunctionModel, call


@tool(needs_approval=True)
def delete_file(path: str) -> str:
    """Delete a file (a person must approve each call)."""
    return f"deleted {path}"


def tidy(messages: list[dict], tools: list[dict]):
    return "done" if messages[-1]["role"] == "tool" else call("delete_file", path="/srv/app.db")


janitor = Agent(name="janitor", model=FunctionModel(tidy), tools=[delete_file], instructions="Tidy up.")
served = [delete_file, janitor]


async def main() -> None:
    from mcp import ClientSession, StdioServerParameters, types
    from mcp.client.stdio import stdio_client

    async def ask_the_user(context, params: types.ElicitRequestParams) -> types.ElicitResult:
        print("asked:", params.message.splitlines()[0])
        approve = '"/tmp/old.log"' in params.message  # this "user" approves deleting old logs only
        return types.ElicitResult(action="accept", content={"approve": approve})

    server = StdioServerParameters(command=sys.executable,
                                   args=["-m", "agentsilex.mcp", "serve", f"{__file__}:served"])
    for label, callback in [("client that asks its user", ask_the_user), ("client that cannot ask", None)]:
        async with stdio_client(server) as (read, write), ClientSession(read, write, elicitation_callback=callback) \
                as session:
            await session.initialize()
            print(f"-- {label}")
            for name, arguments in [("delete_file", {"path": "/tmp/old.log"}), ("delete_file", {"path": "/srv/app.db"}),
                                    ("janitor", {"input": "tidy up"})]:
                result = await session.call_tool(name, arguments)
                text = result.content[0].text
                print(f"{name}{arguments}: {'ERROR ' if result.is_error else ''}{text[:110]}")


if __name__ == "__main__":
    anyio.run(main)
