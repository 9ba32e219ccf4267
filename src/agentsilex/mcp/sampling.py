"""MCP sampling: a server that asks the client to sample (`sampling/createMessage`) gets an answer from a model
you choose, within a budget. Off unless you opt in, per server:

    MCPServer(config, sampling=Sampling("gpt-4o-mini", max_requests=5, max_tokens=4_000))
    mcp_tools(config, sampling="gpt-4o-mini")          # the defaults below
    {"command": ..., "sampling": {"model": "gpt-4o-mini", "max_requests": 5}}   # in a config file

The server's messages (text and images), its system prompt, temperature, stop sequences and `maxTokens`
(capped at `max_tokens_per_request`) are sent to the model as they are; the server's model preferences and
tools are not used. The budget counts every request and every token (input and output) over the life of the
`MCPServer`; past it, the server gets an error, never a silent answer. Sampling is not part of any agent run:
its usage is not in a run's usage or limits, only in `Sampling.used_requests` / `used_tokens`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from mcp import types

from ..errors import UserError

logger = logging.getLogger("agentsilex.mcp")


@dataclass
class Sampling:
    """The model that answers a server's sampling requests, and how much it may spend."""

    model: Any  # a model string ("gpt-4o-mini", "anthropic/...") or a Model object
    max_requests: int = 10
    max_tokens: int = 20_000  # input + output tokens, over every request
    max_tokens_per_request: int = 1_000  # the most one reply may have, whatever the server asks
    used_requests: int = field(default=0, init=False, repr=False)  # (out of repr: mcp_tools keys servers by it)
    used_tokens: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if not (isinstance(self.model, str) and self.model) and not hasattr(self.model, "complete_async"):
            raise UserError(f"Sampling(model=...) must be a model string or a Model, got {self.model!r}.")
        for name in ("max_requests", "max_tokens", "max_tokens_per_request"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UserError(f"Sampling.{name} must be a positive whole number, got {value!r}.")

    async def __call__(self, context: Any, params: types.CreateMessageRequestParams) -> Any:
        """The MCP SDK's sampling callback."""
        if self.used_requests >= self.max_requests or self.used_tokens >= self.max_tokens:
            return types.ErrorData(code=types.INVALID_REQUEST, message=(
                f"Sampling budget spent ({self.used_requests} of {self.max_requests} requests, {self.used_tokens} "
                f"of {self.max_tokens} tokens); the client refuses further sampling."))
        if params.tools:
            return types.ErrorData(code=types.INVALID_REQUEST, message="Sampling with tools is not supported.")
        from ..models import ModelRequest, ModelSettings, resolve_model

        model = resolve_model(self.model)
        settings = ModelSettings(max_tokens=min(params.max_tokens, self.max_tokens_per_request),
                                 temperature=params.temperature,
                                 extra={"stop": params.stop_sequences} if params.stop_sequences else {})
        system = [{"role": "system", "content": params.system_prompt}] if params.system_prompt else []
        self.used_requests += 1
        try:
            reply = await model.complete_async(ModelRequest(messages=system + [_message(m) for m in params.messages],
                                                            settings=settings, timeout=120))
        except Exception as exc:
            logger.warning("MCP sampling with %s failed: %s", getattr(model, "name", model), exc)
            return types.ErrorData(code=types.INTERNAL_ERROR, message=f"The client's model failed: {exc}")
        self.used_tokens += reply.usage.input_tokens + reply.usage.output_tokens
        text = reply.message.get("content")
        return types.CreateMessageResult(role="assistant", content=types.TextContent(type="text", text=text or ""),
                                         model=model.name, stop_reason=_stop_reason(reply.finish_reason))


def _message(message: types.SamplingMessage) -> dict:
    parts = []
    for block in message.content_as_list:
        if isinstance(block, types.TextContent):
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, types.ImageContent):
            parts.append({"type": "image_url", "image_url": {"url": f"data:{block.mime_type};base64,{block.data}"}})
        else:
            parts.append({"type": "text", "text": f"[{type(block).__name__} left out]"})
    if all(part["type"] == "text" for part in parts):
        return {"role": message.role, "content": "\n".join(part["text"] for part in parts)}
    return {"role": message.role, "content": parts}


def _stop_reason(finish_reason: str | None) -> str:
    return {"length": "maxTokens", "stop": "endTurn"}.get(finish_reason or "stop", finish_reason or "endTurn")


def sampling_option(value: Any) -> Sampling | None:
    """`sampling=` as given to MCPServer or in a config: None/False, a model string, a dict, or a Sampling."""
    if value is None or value is False:
        return None
    if isinstance(value, Sampling):
        return value
    if isinstance(value, str):
        return Sampling(value)
    if isinstance(value, dict):
        try:
            return Sampling(**value)
        except TypeError as exc:
            raise UserError(f"sampling={value!r}: {exc}; use model, max_requests, max_tokens, "
                            "max_tokens_per_request.") from None
    raise UserError(f"sampling= must be a model string, a dict or a Sampling(...), got {value!r}.")
