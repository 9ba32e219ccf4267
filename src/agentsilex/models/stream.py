"""Streaming in OpenAI chunk format: reassemble chunks into one reply, and split a reply into chunks."""

from __future__ import annotations

from typing import Any, Iterator

from ..events import Event, PartialOutputEvent, RawChunkEvent, ToolCallDeltaEvent
from ..messages import assistant, tool_call
from .base import ModelResponse, Usage


class StreamAccumulator:
    """Feeds on chunk dicts, reports deltas as events, and builds the final `ModelResponse`.

    Robust to what providers do: ids and names repeated on every chunk, empty argument pieces,
    several calls interleaved by index, chunks without an index.
    """

    def __init__(self, agent: str = "") -> None:
        self.agent = agent
        self.text: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.usage = Usage(requests=1)
        self.finish_reason: str | None = None

    def feed(self, chunk: dict) -> list[Event]:
        events: list[Event] = [RawChunkEvent(chunk)]
        if chunk.get("usage"):
            self.usage = usage_from_openai(chunk["usage"])
        for choice in chunk.get("choices") or []:
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
            delta = choice.get("delta") or {}
            if delta.get("content"):
                self.text.append(delta["content"])
                events.append(PartialOutputEvent(delta["content"], self.agent))
            for piece in delta.get("tool_calls") or []:
                events.append(self._feed_call(piece))
        return events

    def _feed_call(self, piece: dict) -> ToolCallDeltaEvent:
        index, call_id = piece.get("index"), piece.get("id")
        if index is None:
            known = [i for i, c in self.calls.items() if call_id and c["id"] == call_id]
            index = known[0] if known else (len(self.calls) if call_id or not self.calls else max(self.calls))
        call = self.calls.setdefault(index, {"id": None, "name": "", "arguments": []})
        function = piece.get("function") or {}
        call["id"] = call["id"] or call_id
        call["name"] = function.get("name") or call["name"]  # some providers repeat the whole name
        if function.get("arguments"):
            call["arguments"].append(function["arguments"])
        return ToolCallDeltaEvent(index, call["id"], call["name"] or None, function.get("arguments") or "")

    def response(self) -> ModelResponse:
        calls = [tool_call(c["id"] or f"call_{i}", c["name"], "".join(c["arguments"]))
                 for i, c in sorted(self.calls.items())]
        content = "".join(self.text) or None
        return ModelResponse(assistant(content, calls), self.usage, self.finish_reason)


def usage_from_openai(data: Any) -> Usage:
    """One request's Usage from an OpenAI-format `usage` (a dict, or an object with `model_dump`): cached
    tokens from `prompt_tokens_details.cached_tokens` (OpenAI) or `cache_read_input_tokens` (Anthropic
    through LiteLLM), cache writes from `cache_creation_input_tokens`, reasoning tokens from
    `completion_tokens_details.reasoning_tokens`."""
    if hasattr(data, "model_dump"):
        data = data.model_dump()
    data = data if isinstance(data, dict) else {}
    prompt_details = data.get("prompt_tokens_details") or {}
    output_details = data.get("completion_tokens_details") or {}
    return Usage(requests=1, input_tokens=data.get("prompt_tokens") or 0,
                 output_tokens=data.get("completion_tokens") or 0,
                 cached_input_tokens=data.get("cache_read_input_tokens") or prompt_details.get("cached_tokens") or 0,
                 cache_write_tokens=data.get("cache_creation_input_tokens") or 0,
                 reasoning_tokens=output_details.get("reasoning_tokens") or 0)


def response_to_chunks(response: ModelResponse, *, piece: int = 16, model: str = "agentsilex",
                       usage_style: str | None = None) -> Iterator[dict]:
    """Split a reply into OpenAI-format chunks (text in pieces, tool arguments in pieces, usage last)."""
    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {"object": "chat.completion.chunk", "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    message = response.message
    yield chunk({"role": "assistant"})
    text = message.get("content") or ""
    for start in range(0, len(text), piece):
        yield chunk({"content": text[start:start + piece]})
    for index, call in enumerate(message.get("tool_calls") or []):
        arguments = call["function"]["arguments"]
        yield chunk({"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                                     "function": {"name": call["function"]["name"], "arguments": ""}}]})
        for start in range(0, len(arguments), piece):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": arguments[start:start + piece]}}]})
    yield chunk({}, response.finish_reason or ("tool_calls" if message.get("tool_calls") else "stop"))
    yield {"object": "chat.completion.chunk", "model": model, "choices": [],
           "usage": usage_dict(response.usage, usage_style)}


def usage_dict(usage: Usage, style: str | None = None) -> dict:
    """An OpenAI-format `usage`; with cache or reasoning counts, reported the way OpenAI does
    (`*_tokens_details`), plus Anthropic's fields as LiteLLM reports them when `style="anthropic"`.
    `style=None` (in-process models) leaves nothing out: a cache-write count goes as Anthropic's field."""
    data: dict[str, Any] = {"prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens,
                            "total_tokens": usage.total_tokens}
    if usage.cached_input_tokens:
        data["prompt_tokens_details"] = {"cached_tokens": usage.cached_input_tokens}
    if usage.reasoning_tokens:
        data["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    if style == "anthropic" or (style is None and usage.cache_write_tokens):
        data["cache_read_input_tokens"] = usage.cached_input_tokens
        data["cache_creation_input_tokens"] = usage.cache_write_tokens
    return data
