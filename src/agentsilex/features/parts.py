"""`Image`, `Audio`, `File`: helpers that build OpenAI content parts (see content.py), and their labels."""

from __future__ import annotations

import base64
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .content import PART_TYPES, check_size
from ..errors import UserError


def data_uri(data: bytes, mime_type: str) -> str:
    """`data:<mime>;base64,...` for raw bytes (refused past content.MAX_INLINE_BYTES)."""
    check_size(len(data), mime_type)
    return f"data:{mime_type};base64,{base64.b64encode(data).decode('ascii')}"


def _read(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UserError(f"Cannot read {str(path)!r} for a content part: {exc}.") from exc


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
