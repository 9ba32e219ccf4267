"""A small MCP server (official SDK) for the MCP examples: `python calculator.py` serves over stdio."""

import base64

from mcp.server.mcpserver import Image, MCPServer

server = MCPServer("calculator")
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


@server.tool(structured_output=False)
def add(a: int, b: int) -> str:
    """Add two integers."""
    return str(a + b)


@server.tool(structured_output=False)
def multiply(a: int, b: int) -> str:
    """Multiply two integers."""
    return str(a * b)


@server.tool()
def chart() -> Image:
    """A chart of the last result (a 1x1 PNG here)."""
    return Image(data=base64.b64decode(PNG), format="png")


if __name__ == "__main__":
    server.run()
