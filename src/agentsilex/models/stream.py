"""Streaming in OpenAI chunk format: reassemble chunks into one reply, and split a reply into chunks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar, Iterator

from ..errors import ModelError
from ..events import Event
from ..messages import assistant, tool_call
from .base import ModelRequest, ModelResponse, Usage
from .reasoning import plain


@dataclass(frozen=True, repr=False)
class RawChunkEvent(Event):
    """One streamed chunk from the provider, as a plain OpenAI-format dict."""

    chunk: dict
    type: ClassVar[str] = "raw_chunk"

@dataclass(frozen=True, repr=False)
class PartialOutputEvent(Event):
    """A piece of the answer's text as it streams; with an output_type, `output` is the object so far (the fields
    that validate, features/partial_output.py), also in tool mode, where `content` is empty."""

    content: str
    agent: str = ""
    output: Any = None
    type: ClassVar[str] = "partial_output"

@dataclass(frozen=True, repr=False)
class ReasoningDeltaEvent(Event):
    """A piece of the model's reasoning (thinking) text as it streams; never part of the answer."""

    content: str
    agent: str = ""
    type: ClassVar[str] = "reasoning_delta"

@dataclass(frozen=True, repr=False)
class ToolCallDeltaEvent(Event):
    """A piece of a tool call's arguments as it streams (before the call is complete)."""

    index: int
    call_id: str | None
    name: str | None
    arguments_delta: str
    type: ClassVar[str] = "tool_call_delta"


class StreamAccumulator:
    """Feeds on chunk dicts, reports deltas as events, and builds the final `ModelResponse`.

    Robust to what providers do: ids and names repeated on every chunk, empty argument pieces,
    several calls interleaved by index, chunks without an index.
    """

    def __init__(self, agent: Any = "", request: ModelRequest | None = None) -> None:
        """`agent`: the Agent this reply is for (or its name); with an output_type, partial objects are shown."""
        self.agent, self.request, self.reported = getattr(agent, "name", agent), request, False
        self.partial = _partial_output(agent, request)
        self.shown = False  # something of the answer reached the consumer (not just raw chunks): never retried
        self.text: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.usage = Usage(requests=1)
        self.finish_reason: str | None = None
        self.reasoning: list[str] = []
        self.blocks: list[dict] = []  # thinking blocks, joined from their pieces (models/reasoning.py)
        self.provider_fields: dict[str, Any] = {}

    def feed(self, chunk: dict) -> list[Event]:
        events: list[Event] = [RawChunkEvent(chunk)]
        if chunk.get("usage"):
            self.usage, self.reported = usage_from_openai(chunk["usage"]), True
        for choice in chunk.get("choices") or []:
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
            delta = choice.get("delta") or {}
            if delta.get("content"):
                self.text.append(delta["content"])
                shown = self.partial.update("".join(self.text)) if self.partial is not None else None
                events.append(PartialOutputEvent(delta["content"], self.agent, shown))
            events.extend(self._feed_reasoning(delta))
            for piece in delta.get("tool_calls") or []:
                events.append(self._feed_call(piece))
                if self.partial is not None and self.partial.follows(events[-1].name):  # tool mode's answer
                    shown = self.partial.update("".join(self.calls[events[-1].index]["arguments"]))
                    events.extend([PartialOutputEvent("", self.agent, shown)] if shown is not None else [])
        self.shown = self.shown or len(events) > 1
        return events

    def _feed_reasoning(self, delta: dict) -> list[Event]:
        text = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(text, str) and text:
            self.reasoning.append(text)
        if isinstance(delta.get("provider_specific_fields"), dict):
            self.provider_fields.update(plain(delta["provider_specific_fields"]))
        shown = text if isinstance(text, str) else ""
        for block in plain(delta.get("thinking_blocks")) or []:
            last = self.blocks[-1] if self.blocks else None
            if last is not None and last.get("type") == block.get("type") and not last.get("signature"):
                for key, value in block.items():  # a piece of the open block: text joins, signature closes it
                    last[key] = (last.get(key) or "") + value if key in ("thinking", "data") else value
            else:
                self.blocks.append(dict(block))
            if not shown and block.get("thinking"):
                shown = block["thinking"]
        return [ReasoningDeltaEvent(shown, self.agent)] if shown else []

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

    def complete(self, model: Any) -> ModelResponse:
        """The reassembled reply, if the stream was whole: not cut in a tool call, not empty (both retryable)."""
        name = getattr(model, "name", None)
        if self.calls and self.finish_reason is None:
            # A stream that stops mid tool call may be cut off anywhere, even inside the arguments: never run it.
            raise ModelError(f"Model {name!r} stream ended in the middle of a tool call (the connection was cut); "
                             "nothing of it was saved. Run the prompt again.", model=name, retryable=True)
        if not self.calls and not self.text:  # e.g. LiteLLM reading a page that was no stream at all
            raise ModelError(f"Model {name!r} streamed an empty answer (no text, no tool call); nothing was saved. "
                             "Retried like a server error.", model=name, retryable=True)
        return self.response()

    def response(self) -> ModelResponse:
        calls = [tool_call(c["id"] or f"call_{i}", c["name"], "".join(c["arguments"]))
                 for i, c in sorted(self.calls.items())]
        content = "".join(self.text) or None
        message = assistant(content, calls)
        if self.reasoning:
            message["reasoning_content"] = "".join(self.reasoning)
        if self.blocks:
            message["thinking_blocks"] = self.blocks
        fields = {k: v for k, v in self.provider_fields.items() if v is not None}
        if fields:
            message["provider_specific_fields"] = fields
        silent = not self.reported and self.request is not None  # e.g. llama.cpp ignores stream_options
        return ModelResponse(message, estimate_usage(self.request, message) if silent else self.usage,
                             self.finish_reason)


def _partial_output(agent: Any, request: ModelRequest | None) -> Any:
    if request is None or request.output_mode is None or getattr(agent, "output_type", None) is None:
        return None
    from ..features.partial_output import PartialOutput  # only when streaming with an output_type

    return PartialOutput(agent, request.output_mode)


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


def estimate_usage(request: ModelRequest, message: dict) -> Usage:
    """Token counts guessed at ~4 characters a token, for a server that reports none; marked `estimated`."""
    sent = json.dumps([request.messages, request.tools])
    said = (message.get("content") or "") + "".join(
        c["function"]["name"] + c["function"]["arguments"] for c in message.get("tool_calls") or [])
    return Usage(requests=1, input_tokens=-(-len(sent) // 4), output_tokens=-(-len(said) // 4), estimated=True)


def response_to_chunks(response: ModelResponse, *, piece: int = 16, model: str = "agentsilex",
                       usage_style: str | None = None) -> Iterator[dict]:
    """Split a reply into OpenAI-format chunks (text in pieces, tool arguments in pieces, usage last)."""
    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {"object": "chat.completion.chunk", "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    message = response.message
    yield chunk({"role": "assistant"})
    yield from _reasoning_chunks(message, chunk, piece)
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


def _reasoning_chunks(message: dict, chunk: Any, piece: int) -> Iterator[dict]:
    """Reasoning first, as servers stream it: `reasoning_content` pieces (OpenAI-compatible servers) or, with
    thinking blocks, each block's text as `reasoning_content` and as a block piece in the same delta, then
    the block's signature in a chunk of its own (Anthropic, as LiteLLM reports it)."""
    reasoning = message.get("reasoning_content") or ""
    blocks = message.get("thinking_blocks") or []
    for start in range(0, len(reasoning) if not blocks else 0, piece):
        yield chunk({"reasoning_content": reasoning[start:start + piece]})
    for block in blocks:
        text = block.get("thinking") or ""
        for start in range(0, len(text), piece):
            yield chunk({"reasoning_content": text[start:start + piece],
                         "thinking_blocks": [{"type": block["type"], "thinking": text[start:start + piece]}]})
        rest = {k: v for k, v in block.items() if k != "thinking"}
        if len(rest) > 1:
            yield chunk({"thinking_blocks": [rest]})
    if message.get("provider_specific_fields"):
        yield chunk({"provider_specific_fields": message["provider_specific_fields"]})


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


def with_unique_call_ids(message: dict) -> dict:
    """The message with every tool call id distinct and non-empty (a copy, if any had to change).

    Some models repeat an id (or leave it out); answers are matched to calls by id, so one call's result
    would overwrite the other's. A repeated id gets a suffix: the renamed id is what the session stores and
    what the provider sees next, consistently in the call and in its answer.
    """
    calls = message.get("tool_calls") or []
    ids = [call.get("id") for call in calls]
    if all(ids) and len(set(ids)) == len(ids):
        return message
    taken: set[Any] = set(ids)
    seen: set[Any] = set()
    renamed = []
    for index, call in enumerate(calls):
        call_id = call.get("id")
        if not call_id or call_id in seen:
            base, suffix = call_id or "call", 2 if call_id else index
            while f"{base}_{suffix}" in taken:
                suffix += 1
            call_id = f"{base}_{suffix}"
            taken.add(call_id)
            call = {**call, "id": call_id}
        seen.add(call_id)
        renamed.append(call)
    return {**message, "tool_calls": renamed}
