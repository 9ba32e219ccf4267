"""Content parts in prompts and tool results, as OpenAI content-part dicts, and the `Image`, `Audio` and `File`
helpers that build them. Loaded only when a prompt is not plain text or a tool returns parts.

A prompt is a `str`, or a list of parts: `{"type": "text", "text": ...}`, `{"type": "image_url", "image_url":
{"url": <URL or data: URI>}}`, `{"type": "input_audio", "input_audio": {"data": <base64>, "format": "wav"}}`,
`{"type": "file", "file": {"filename": ..., "file_data": <data: URI>}}` (or `{"file_id": ...}`), mixed with
plain strings and the `Image`/`Audio`/`File` helpers. Tool messages must be text for most providers, so a
tool that returns parts answers with text (naming what is attached), and the step's parts follow in one user
message after its tool results. Sessions store parts as JSON.

The size limits, here and only here (set them to change the guards; `UserError` past them): one inline payload
holds at most `MAX_INLINE_BYTES` (20 MiB, OpenAI's largest image), whatever its shape (a dict, a plain `data:`
string, anything else: every string in it is measured); one request carries at most `MAX_REQUEST_INLINE_BYTES`
(50 MiB, OpenAI's total for a request) of inline payloads, checked by the HTTP models before they send
(models/http.py) and by a prompt of parts before anything is stored. `from_path` reads only a regular file,
checks its size before reading and reads at most the limit + 1 bytes: a device or a FIFO fails at once.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..result import FunctionCall, answer

MAX_INLINE_BYTES = 20 * 1024 * 1024
MAX_REQUEST_INLINE_BYTES = 50 * 1024 * 1024
PART_TYPES = {"text": "text", "image_url": "image_url", "input_audio": "input_audio", "file": "file"}
Prompt = Any  # a str, a helper, or a list mixing str, helpers and part dicts


def check_size(size: int, what: str) -> None:
    if size > MAX_INLINE_BYTES:
        raise UserError(f"Inline content ({what}) is {size:,} bytes; the limit is {MAX_INLINE_BYTES:,} "
                        "(agentsilex.features.content.MAX_INLINE_BYTES). Shrink or resize it, pass a URL or a provider "
                        "file id instead, or raise the limit if your provider and session store accept it.")


def is_part(item: Any) -> bool:
    return isinstance(item, dict) and PART_TYPES.get(item.get("type")) in item


def is_helper(item: Any) -> bool:
    return callable(getattr(item, "part", None)) and not isinstance(item, (dict, str))


def check_part(part: dict) -> None:
    """Refuse an inline payload past MAX_INLINE_BYTES, whatever its shape."""
    if part["type"] != "text":
        size = inline_bytes(part[PART_TYPES[part["type"]]])
        if size > 768:  # a URL, a file id: nothing to weigh
            check_size(size, part["type"])


def inline_bytes(payload: Any) -> int:
    """The bytes a payload carries: every string in it, as base64 (3 bytes per 4 characters), at any depth."""
    if isinstance(payload, str):
        return len(payload) * 3 // 4
    if isinstance(payload, dict):
        return sum(inline_bytes(value) for value in payload.values())
    if isinstance(payload, (list, tuple)):
        return sum(inline_bytes(value) for value in payload)
    return 0


def check_request(messages: list[dict], what: str = "This request") -> None:
    """Refuse `messages` whose non-text parts carry more than MAX_REQUEST_INLINE_BYTES in all."""
    sizes = [inline_bytes(part) for message in messages if isinstance(message.get("content"), list)
             for part in message["content"] if not (isinstance(part, dict) and part.get("type") == "text")]
    total = sum(sizes)
    if total > MAX_REQUEST_INLINE_BYTES:
        raise UserError(f"{what} carries {total:,} bytes of inline content in {len(sizes)} parts (images, audio, "
                        f"files); the limit per request is {MAX_REQUEST_INLINE_BYTES:,} (agentsilex.features.content"
                        ".MAX_REQUEST_INLINE_BYTES). Nothing was sent. Send fewer or smaller parts, pass URLs or "
                        "provider file ids, trim the history (Runner(memory=...)), or raise the limit if your "
                        "provider accepts it.")


def to_part(item: Any) -> dict:
    """One checked part dict from a str, a helper (`Image`, `Audio`, `File`) or a part dict."""
    part = {"type": "text", "text": item} if isinstance(item, str) else item.part() if is_helper(item) else item
    if not is_part(part):
        raise UserError(f"{item!r:.200} is not a content part. Use a str, Image/Audio/File (agentsilex), or an "
                        f"OpenAI part dict whose 'type' is one of {sorted(PART_TYPES)}.")
    check_part(part)
    return part


def normalize_prompt(prompt: Prompt) -> str | list[dict]:
    """A prompt as sent: a str stays a str; a helper or a list becomes a list of checked part dicts."""
    if isinstance(prompt, str):
        return prompt
    if is_helper(prompt) or is_part(prompt):
        return [to_part(prompt)]
    if isinstance(prompt, (list, tuple)) and prompt:
        parts = [to_part(item) for item in prompt]
        check_request([{"role": "user", "content": parts}], "This prompt")  # before anything is stored
        return parts
    raise UserError(f"prompt must be a str, a non-empty list of content parts, Image/Audio/File, or a RunState; "
                    f"got {type(prompt).__name__}.")


def has_parts(value: Any) -> bool:
    """Does a tool's return value hold content parts (not just data to send as JSON)?"""
    items = value if isinstance(value, (list, tuple)) else [value]
    return (bool(items) and any(is_helper(v) or is_part(v) for v in items)
            and all(isinstance(v, str) or is_helper(v) or is_part(v) for v in items))


def split_tool_value(value: Any) -> tuple[str, list[dict]]:
    """A tool's parts as (the tool message's text, the non-text parts to attach after the step)."""
    parts = [to_part(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    attached = [p for p in parts if p["type"] != "text"]
    names = ", ".join(p["type"].removesuffix("_url").removeprefix("input_") for p in attached)
    return "\n".join([*(p["text"] for p in parts if p["type"] == "text"),
                      f"[attached: {names}; shown in the next message]"]), attached


def record_parts(call: dict, value: Any) -> FunctionCall | None:
    """The answer to a call whose tool returned parts: text in the tool message, the parts attached after the step
    (None: the value holds no parts, it is plain data)."""
    if not has_parts(value):
        return None
    text, attachments = split_tool_value(value)
    done = answer(call, text)
    done.attachments, done.result = attachments, value
    return done


def attachment_message(records: list[Any]) -> list[dict]:
    """The user message that shows the model what this step's tools returned as parts (none: no message)."""
    content: list[dict] = []
    for record in records:
        if record.attachments:
            content.append({"type": "text", "text": f"Attachments returned by tool {record.name!r} "
                                                    f"(call {record.call_id}):"})
            content.extend(record.attachments)
    return [{"role": "user", "content": content}] if content else []


# -- the helpers: Image, Audio, File, and short labels for parts ----------------------------------------
def data_uri(data: bytes, mime_type: str) -> str:
    """`data:<mime>;base64,...` for raw bytes (refused past content.MAX_INLINE_BYTES)."""
    check_size(len(data), mime_type)
    return f"data:{mime_type};base64,{base64.b64encode(data).decode('ascii')}"


def _read(path: str | Path) -> bytes:
    """A regular file's bytes, checked before reading: its size first, then at most the limit + 1 bytes read (a
    file growing meanwhile). Opened without blocking, so a FIFO swapped in after the check cannot hang the read."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise _not_a_file(path, os.stat(path).st_mode)
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        with open(descriptor, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise _not_a_file(path, info.st_mode)
            check_size(info.st_size, str(path))
            data = handle.read(MAX_INLINE_BYTES + 1)
    except OSError as exc:
        raise UserError(f"Cannot read {str(path)!r} for a content part: {exc}.") from exc
    check_size(len(data), str(path))
    return data


def _not_a_file(path: str | Path, mode: int) -> UserError:
    kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a file")
    return UserError(f"Cannot read {str(path)!r} for a content part: it is {kind}, not a regular file, so nothing "
                     "was read. Pass a regular file, or read the bytes yourself and use from_bytes(...).")


def _guess(path: str | Path, default: str) -> str:
    return mimetypes.guess_type(str(path))[0] or default


@dataclass(frozen=True)
class Image:
    """An image part: a URL (https or `data:`), with an optional `detail` ("low", "high", "auto")."""

    url: str
    detail: str | None = None

    @classmethod
    def from_url(cls, url: str, *, detail: str | None = None) -> Image:
        return cls(url, detail)

    @classmethod
    def from_bytes(cls, data: bytes, mime_type: str = "image/png", *, detail: str | None = None) -> Image:
        return cls(data_uri(data, mime_type), detail)

    @classmethod
    def from_path(cls, path: str | Path, *, mime_type: str | None = None, detail: str | None = None) -> Image:
        return cls.from_bytes(_read(path), mime_type or _guess(path, "image/png"), detail=detail)

    def part(self) -> dict:
        image: dict[str, Any] = {"url": self.url}
        if self.detail:
            image["detail"] = self.detail
        return {"type": "image_url", "image_url": image}


@dataclass(frozen=True)
class Audio:
    """An audio part: base64 data and its format ("wav", "mp3")."""

    data: str
    format: str = "wav"

    @classmethod
    def from_bytes(cls, data: bytes, format: str = "wav") -> Audio:
        check_size(len(data), f"audio/{format}")
        return cls(base64.b64encode(data).decode("ascii"), format)

    @classmethod
    def from_path(cls, path: str | Path, *, format: str | None = None) -> Audio:
        return cls.from_bytes(_read(path), format or Path(path).suffix.lstrip(".").lower() or "wav")

    def part(self) -> dict:
        return {"type": "input_audio", "input_audio": {"data": self.data, "format": self.format}}


@dataclass(frozen=True)
class File:
    """A file part (a PDF, say): inline as a `data:` URI with a filename, or a provider's `file_id`."""

    file_data: str | None = None
    filename: str | None = None
    file_id: str | None = None

    @classmethod
    def from_bytes(cls, data: bytes, filename: str, *, mime_type: str | None = None) -> File:
        return cls(data_uri(data, mime_type or _guess(filename, "application/octet-stream")), filename)

    @classmethod
    def from_path(cls, path: str | Path, *, mime_type: str | None = None) -> File:
        return cls.from_bytes(_read(path), Path(path).name, mime_type=mime_type)

    @classmethod
    def from_id(cls, file_id: str) -> File:
        return cls(file_id=file_id)

    def part(self) -> dict:
        file = {k: v for k, v in (("filename", self.filename), ("file_data", self.file_data),
                                  ("file_id", self.file_id)) if v is not None}
        return {"type": "file", "file": file}


def describe(part: dict) -> str:
    """A short human label for a part: never the bytes."""
    kind = part.get("type", "")
    payload = part.get(PART_TYPES.get(kind, ""))
    if kind == "text":
        return str(payload)
    if not isinstance(payload, dict):
        return f"[{kind}]"
    if kind == "image_url":
        url = str(payload.get("url", ""))
        head, _, data = url.partition(",")
        return f"image {head[5:].split(';')[0]} ({_size(data):,} bytes)" if url.startswith("data:") else f"image {url}"
    if kind == "input_audio":
        return f"audio {payload.get('format', '?')} ({_size(str(payload.get('data', ''))):,} bytes)"
    name = payload.get("filename") or payload.get("file_id") or "file"
    data = payload.get("file_data")
    return f"file {name}" + (f" ({_size(data.partition(',')[2]):,} bytes)" if isinstance(data, str) else "")


def _size(base64_text: str) -> int:
    """The number of bytes base64 text decodes to."""
    return len(base64_text) * 3 // 4 - base64_text[-2:].count("=")


def text_of(content: Any) -> str:
    """A message's content as one line of text: text parts as they are, other parts as short labels."""
    if content is None:
        return ""
    if isinstance(content, list):
        return " ".join(describe(p) if isinstance(p, dict) else str(p) for p in content)
    return str(content)
