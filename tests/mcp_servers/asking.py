"""A real MCP server (official SDK, stdio) whose tools ask the client back: `summarize` samples the client's
model (sampling/createMessage), `book_table` asks the user how many people (elicitation/create)."""

from __future__ import annotations

import warnings

from mcp import types
from mcp.server.mcpserver import Context, MCPServer
from pydantic import BaseModel, Field

server = MCPServer("asking")


class Party(BaseModel):
    people: int = Field(description="How many people?")
    terrace: bool = Field(default=False, description="Sit outside?")


@server.tool(structured_output=False)
async def summarize(text: str, ctx: Context) -> str:
    """Summarize a text with the client's model."""
    with warnings.catch_warnings():  # sampling is deprecated in the newest protocol version, still served
        warnings.simplefilter("ignore")
        result = await ctx.session.create_message(
            [types.SamplingMessage(role="user", content=types.TextContent(type="text", text=f"Summarize: {text}"))],
            max_tokens=5_000, system_prompt="You summarize.", related_request_id=ctx.request_id)
    return f"summary by {result.model}: {result.content.text}"


@server.tool(structured_output=False)
async def book_table(restaurant: str, ctx: Context) -> str:
    """Book a table; asks the user for the party size."""
    answer = await ctx.elicit(f"How many people at {restaurant}?", schema=Party)
    if answer.action == "accept":
        place = "on the terrace" if answer.data.terrace else "inside"
        return f"booked {restaurant} for {answer.data.people} {place}"
    return f"not booked ({answer.action})"


if __name__ == "__main__":
    server.run("stdio")
