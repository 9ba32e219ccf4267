"""What an MCP tool result becomes: the value of the tool call, read by the model as text.

Structured content (a tool with an output schema) is returned as the dict itself (the model reads it as
JSON; `FunctionCall.result` keeps the dict). Otherwise each content block becomes text: text as is, embedded
text resources with their URI, and images, audio or binary resources as a short line saying what they are
(a tool message is text for every provider, so raw base64 would only cost tokens). An `isError` result
raises `MCPToolError`, which the run turns into an "Error: ..." tool message like any failing tool.
Whatever the server sent, at most `max_chars` characters of it go on (limits.py), with a note when cut.
"""

from __future__ import annotations

from typing import Any

from mcp import types

from .errors import MCPToolError
from .limits import cut, cut_value


def to_value(result: types.CallToolResult, *, server: str, tool: str, max_chars: int) -> Any:
    what = f"the result of tool {tool!r} from MCP server {server!r}"
    if result.is_error:
        text = render(result.content) or "the server reported an error and gave no details"
        raise MCPToolError(cut(text, max_chars, what, "max_result_chars"), server=server)
    if result.structured_content is not None:
        return cut_value(result.structured_content, max_chars, what)
    return cut(render(result.content), max_chars, what, "max_result_chars")


def render(blocks: list[Any]) -> str:
    return "\n".join(_block(block) for block in blocks)


def _block(block: Any) -> str:
    if isinstance(block, types.TextContent):
        return block.text
    if isinstance(block, (types.ImageContent, types.AudioContent)):
        kind = "image" if isinstance(block, types.ImageContent) else "audio"
        return f"[{kind} {block.mime_type}, {_size(block.data)} bytes]"
    if isinstance(block, types.ResourceLink):
        about = " - ".join(part for part in (block.name, block.description) if part)
        return f"[resource link {block.uri}{': ' + about if about else ''}]"
    if isinstance(block, types.EmbeddedResource):
        resource = block.resource
        if isinstance(resource, types.TextResourceContents):
            return f"[resource {resource.uri}]\n{resource.text}"
        mime = f" {resource.mime_type}" if resource.mime_type else ""
        return f"[resource {resource.uri}{mime}, {_size(resource.blob)} bytes of binary data]"
    return f"[{getattr(block, 'type', type(block).__name__)} content]"


def _size(base64_text: str) -> int:
    return len(base64_text) * 3 // 4 - base64_text[-2:].count("=")
