"""The model contract: plain-data requests and responses, and the `Model` protocol every adapter implements.

A leaf module (it imports no other part of the package), so adapters -- `models/litellm.py`,
`models/openai_http.py`, your own -- import it without importing `agentsilex.models` back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, AsyncIterator, Iterator, Protocol, runtime_checkable


@dataclass
class Usage:
    """Token counts, summed over requests. Cached and cache-write tokens are part of `input_tokens`,
    reasoning tokens part of `output_tokens` (0 where the provider does not report them)."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0  # read from the provider's prompt cache (billed at the cache-read price)
    cache_write_tokens: int = 0  # written to the prompt cache (Anthropic; billed at the cache-write price)
    reasoning_tokens: int = 0
    estimated: bool = False  # some counts are guesses (~4 characters a token): the server reported none

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, other: Usage) -> None:
        self.requests += other.requests
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cached_input_tokens += other.cached_input_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.reasoning_tokens += other.reasoning_tokens
        self.estimated = self.estimated or other.estimated


@dataclass(frozen=True)
class ModelSettings:
    """Sampling options sent with every request; `extra` is passed to the provider as-is."""

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    tool_choice: str | dict | None = None
    parallel_tool_calls: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Anthropic prompt caching: cache_control markers on the system prompt and the tools (build_request).
    prompt_cache: bool = False

    def to_kwargs(self) -> dict[str, Any]:
        known = {"temperature": self.temperature, "max_tokens": self.max_tokens, "top_p": self.top_p,
                 "tool_choice": self.tool_choice, "parallel_tool_calls": self.parallel_tool_calls}
        return {**{k: v for k, v in known.items() if v is not None}, **self.extra}

    def merged(self, **changes: Any) -> ModelSettings:
        return replace(self, **changes)


@dataclass
class ModelRequest:
    """Exactly what goes to the model: messages (system first), tool specs, settings (built by build_request)."""

    messages: list[dict]
    tools: list[dict] = field(default_factory=list)
    settings: ModelSettings = field(default_factory=ModelSettings)
    response_format: Any = None
    timeout: float | None = None  # seconds to wait for the reply (streams: for the first chunk)
    idle_timeout: float | None = None  # streams: seconds to wait between chunks
    connect_timeout: float | None = None  # seconds to open the connection
    output_mode: str | None = None  # how a structured output is asked for: "native", "tool", "prompted" or None


@dataclass
class ModelResponse:
    """The model's reply: one assistant message as a plain dict, and the tokens it cost."""

    message: dict
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None


@runtime_checkable
class Model(Protocol):
    """What the runner needs from a model: the whole contract of an adapter. `ModelBase` fills in three of four.

    **Request.** Send `request.messages` (OpenAI format, system first), `request.tools` (OpenAI `tools`
    entries; omit the key when empty), `request.settings.to_kwargs()` and, when set, `request.response_format`.
    Do not change the request: it may be shared with hooks and retries.

    **Reply** (`complete`, `complete_async`). A `ModelResponse` whose `message` is one assistant message as a
    plain JSON-safe dict: `{"role": "assistant", "content": str | None}` plus `"tool_calls": [{"id",
    "type": "function", "function": {"name", "arguments": <JSON text>}}]` when it calls tools (no empty list);
    `usage` with `requests=1` and the token counts; `finish_reason` as the provider gave it ("stop",
    "tool_calls", "length", ...; None if unknown). A reasoning model's `reasoning_content`, `thinking_blocks`
    and `provider_specific_fields` go on the message as plain data (models/reasoning.py; messages sent may
    carry them back).

    **Stream** (`stream`, `stream_async`). OpenAI-format chunk dicts: `{"choices": [{"delta": {"content":
    "...", "tool_calls": [{"index", "id", "function": {"name", "arguments"}}]}, "finish_reason": ...}],
    "usage": {"prompt_tokens", "completion_tokens"}}` (every key optional; `reasoning_content` and
    `thinking_blocks` pieces in a delta are joined too; tool call fragments are joined by
    `index`). The last chunk with choices carries the `finish_reason`: a stream that ends inside a tool call
    with no finish_reason counts as cut off and is retried or fails, never run; so does a stream with no text
    and no tool call. Closing the iterator (`close()` / `aclose()`) must hang up the connection. A reply whose
    tool calls repeat an id gets unique ids before the loop reads it (engine/model_call.py `checked`).

    **Timeouts.** `request.timeout` (seconds to the reply, or to the first chunk), `request.idle_timeout`
    (between chunks) and `request.connect_timeout` are part of the request (defaults 300, 60, 10 s). A model that
    does blocking I/O must enforce them itself: the sync drivers cannot interrupt a blocking read. The async drivers
    also enforce them around each await.

    **Errors.** Raise `agentsilex.errors.ModelError` (or a child: `ModelTimeoutError`, `ModelAuthError`,
    `ModelBadRequestError`, ...) with `retryable=True` for failures worth retrying; the drivers retry, back
    off and fall back (`Runner(retry=...)`, `Agent(fallback_models=...)`). Any other exception is a bug.

    **Capabilities** (optional attributes, declared by the adapter; absent means True):
    `supports_response_format` (a JSON schema `response_format`) and `supports_response_format_with_tools`
    (the same together with tools). They decide the structured-output mode (features/output.py).
    `provider` (a str; absent: the name's prefix before "/") decides where stored reasoning may be sent back.
    """

    name: str

    def complete(self, request: ModelRequest) -> ModelResponse: ...

    async def complete_async(self, request: ModelRequest) -> ModelResponse: ...

    def stream(self, request: ModelRequest) -> Iterator[dict]: ...

    def stream_async(self, request: ModelRequest) -> AsyncIterator[dict]: ...


# What record()/replay() wrap every resolved model in (models/recording.py; resolve_model reads it). Kept in
# this leaf module so that recording.py needs nothing from `agentsilex.models` itself.
wrappers: list[Any] = []
