"""What an MCP tool result becomes: the value of the tool call.

Structured content (a tool with an output schema) is returned as the dict itself (the model reads it as
JSON; `FunctionCall.result` keeps the dict). Otherwise each content block becomes text (text as is, embedded
text resources with their URI), and images, audio (wav, mp3) and PDF resources become content parts: the
value is then a list of text and part dicts, which the run sends as for any tool that returns parts (the tool
message names them, one user message after the step shows them; see docs/content-and-reasoning.md). What no
provider takes as a part (other binary data, a part past `content.MAX_INLINE_BYTES`) is a short line saying
what it is. An `is_error` result raises `MCPToolError`, which the run turns into an "Error: ..." tool message
like any failing tool. Whatever text the server sent, at most `max_chars` characters of it go on (limits.py),
with a note when cut; parts are bounded by `content.MAX_INLINE_BYTES` instead.
"""

from __future__ import annotations

from typing import Any

from mcp import types

from ..features import content
from .errors import MCPToolError
from .limits import cut, cut_value

_AUDIO_FORMATS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/mpeg": "mp3",
                  "audio/mp3": "mp3"}


def to_value(result: types.CallToolResult, *, server: str, tool: str, max_chars: int) -> Any:
    what = f"the result of tool {tool!r} from MCP server {server!r}"
    if result.is_error:
        text = render(result.content) or "the server reported an error and gave no details"
        raise MCPToolError(cut(text, max_chars, what, "max_result_chars"), server=server)
    if result.structured_content is not None:
        return cut_value(result.structured_content, max_chars, what)
    items = [_item(block) for block in result.content]
    if all(isinstance(item, str) for item in items):
        return cut("\n".join(items), max_chars, what, "max_result_chars")
    return _cut_texts(items, max_chars, what)


def render(blocks: list[Any]) -> str:
    """The blocks as text only (an error's message)."""
    return "\n".join(_text(block) for block in blocks)


def _cut_texts(items: list[Any], maximum: int, what: str) -> list[Any]:
    """Text and parts: the text items together hold at most `maximum` characters, cut with one note as `cut`
    would; the parts stay as they are (content.MAX_INLINE_BYTES bounds each)."""
    total = sum(len(item) for item in items if isinstance(item, str))
    if total <= maximum:
        return items
    kept: list[Any] = []
    left = maximum
    for item in items:
        if isinstance(item, str):
            if left < 0:
                continue  # past the note: the rest of the text is dropped
            if len(item) > left:
                item = (f"{item[:left]}\n[agentsilex cut {what} here: {total:,} characters of text, over "
                        f"max_result_chars={maximum:,}; the remaining {total - maximum:,} were dropped]")
                left = -1
            else:
                left -= len(item)
        kept.append(item)
    return kept


def _item(block: Any) -> str | dict:
    """A content part for what a model can be shown, else the block's text."""
    size = _size(getattr(block, "data", None) or getattr(getattr(block, "resource", None), "blob", None) or "")
    if size > content.MAX_INLINE_BYTES:
        return _text(block)
    if isinstance(block, types.ImageContent):
        return {"type": "image_url", "image_url": {"url": f"data:{block.mime_type};base64,{block.data}"}}
    if isinstance(block, types.AudioContent) and block.mime_type in _AUDIO_FORMATS:
        return {"type": "input_audio", "input_audio": {"data": block.data,
                                                       "format": _AUDIO_FORMATS[block.mime_type]}}
    if isinstance(block, types.EmbeddedResource) and isinstance(block.resource, types.BlobResourceContents):
        resource, mime = block.resource, block.resource.mime_type or ""
        if mime.startswith("image/"):
            return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{resource.blob}"}}
        if mime == "application/pdf":
            name = str(resource.uri).rstrip("/").rsplit("/", 1)[-1] or "document.pdf"
            return {"type": "file", "file": {"filename": name, "file_data": f"data:{mime};base64,{resource.blob}"}}
    return _text(block)


def _text(block: Any) -> str:
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
    return len(base64_text) * 3 // 4 - base64_text[-2:].count("=") if base64_text else 0
