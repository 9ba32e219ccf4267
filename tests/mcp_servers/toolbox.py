"""A real MCP server written with the official SDK, for the tests: `python toolbox.py [stdio | http PORT | sse PORT]`.

Its tools cover every kind of result (text, structured, image, audio, embedded resource, error), a slow tool, a
tool that crashes the server, one that hangs it, one that changes the tool list, one that reads the server's
environment and one that writes to its stderr.
"""

from __future__ import annotations

import base64
import os
import sys
import time
from typing import TypedDict

import anyio
from mcp import types
from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("toolbox")
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


class Weather(TypedDict):
    city: str
    celsius: float


@server.tool(structured_output=False)
def add(a: int, b: int) -> str:
    """Add two integers."""
    return str(a + b)


@server.tool()
def weather(city: str) -> Weather:
    """Today's weather in a city (structured output)."""
    return {"city": city, "celsius": 4.5}


@server.tool()
def picture() -> Image:
    """A 1x1 PNG."""
    return Image(data=PNG, format="png")


@server.tool(structured_output=False)
def note() -> list[types.ContentBlock]:
    """A text note as an embedded resource, and a link."""
    return [types.EmbeddedResource(type="resource", resource=types.TextResourceContents(
                uri="note://today", mime_type="text/plain", text="buy milk")),
            types.ResourceLink(type="resource_link", uri="note://tomorrow", name="tomorrow")]


@server.tool(structured_output=False)
def fail(message: str) -> str:
    """Always fails with the message."""
    raise ToolError(message)


@server.tool(structured_output=False)
async def slow(seconds: float) -> str:
    """Sleep without blocking the server, then answer."""
    await anyio.sleep(seconds)
    return f"slept {seconds}"


@server.tool(structured_output=False)
def pid() -> str:
    """The server's process id."""
    return str(os.getpid())


@server.tool(structured_output=False)
def crash() -> str:
    """Kill the server process mid-call."""
    os._exit(3)


@server.tool(structured_output=False)
async def hang() -> str:
    """Block the server's event loop for good (not even pings are answered)."""
    time.sleep(3600)
    return "never"


@server.tool(structured_output=False)
async def grow(ctx: Context) -> str:
    """Add a tool named `extra` and tell the client its tool list changed."""
    server.add_tool(extra, structured_output=False)
    await ctx.session.send_tool_list_changed()
    return "grown"


@server.tool(structured_output=False)
def authorization(ctx: Context) -> str:
    """The Authorization header of this call (HTTP transports), or "none"."""
    return (ctx.headers or {}).get("authorization", "none")


@server.tool(structured_output=False)
def media() -> list[types.ContentBlock]:
    """A caption, an image, a wav sound, a PDF, and a blob no model takes."""
    data = base64.b64encode(PNG).decode()
    blob = base64.b64encode(b"%PDF-1.4 tiny").decode()
    return [types.TextContent(type="text", text="The chart, its sound and its report."),
            types.ImageContent(type="image", data=data, mime_type="image/png"),
            types.AudioContent(type="audio", data=base64.b64encode(b"RIFFwave").decode(), mime_type="audio/wav"),
            types.EmbeddedResource(type="resource", resource=types.BlobResourceContents(
                uri="file:///reports/q3.pdf", mime_type="application/pdf", blob=blob)),
            types.EmbeddedResource(type="resource", resource=types.BlobResourceContents(
                uri="file:///data.zip", mime_type="application/zip", blob=blob))]


@server.tool(structured_output=False)
def environment(names: list[str]) -> str:
    """The values of these environment variables in the server process (null when unset), as JSON."""
    import json

    return json.dumps({name: os.environ.get(name) for name in names})


@server.tool(structured_output=False)
def complain(text: str) -> str:
    """Write the text to the server's stderr."""
    print(text, file=sys.stderr, flush=True)
    return "said it"


def extra(text: str) -> str:
    """Added at run time by `grow`."""
    return text.upper()


if __name__ == "__main__":
    transport = sys.argv[1] if len(sys.argv) > 1 else "stdio"
    if transport == "stdio":
        server.run()
    else:
        port = int(sys.argv[2])
        kind = "streamable-http" if transport == "http" else "sse"
        server.run(kind, host="127.0.0.1", port=port)
