"""Anthropic prompt caching: with `ModelSettings(prompt_cache=True)` on a Claude model, `cache_control` markers on
the system prompt and the last tool (Anthropic caches everything up to a marker; LiteLLM passes them on). Other
providers cache by themselves, or reject unknown fields, so they get no markers."""

from __future__ import annotations

from typing import Any

from ..engine.capability import Step
from ..wrapping import Capability


class CacheMarkers(Capability):
    """Marks what Anthropic should cache, on each request of an agent that asks for it."""

    def prepare(self, request: Any, step: Step) -> Any:
        if request.settings.prompt_cache and takes_cache_markers(step.model):
            request.messages, request.tools = cache_markers(request.messages, request.tools)
        return request


def cache_markers(sent: list[dict], tools: list[dict]) -> tuple[list[dict], list[dict]]:
    """Mark the system prompt and the last tool."""
    marker = {"type": "ephemeral"}
    if sent and sent[0].get("role") == "system" and isinstance(sent[0].get("content"), str):
        text = sent[0]["content"]
        sent = [{"role": "system", "content": [{"type": "text", "text": text, "cache_control": marker}]}, *sent[1:]]
    if tools:
        tools = [*tools[:-1], {**tools[-1], "cache_control": marker}]
    return sent, tools


def takes_cache_markers(model: Any) -> bool:
    """Only Anthropic models read cache_control (others cache by themselves, or reject unknown fields)."""
    name = str(getattr(model, "name", "")).lower()
    return "claude" in name or name.startswith("anthropic/")
