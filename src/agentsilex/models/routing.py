"""Which path a model string takes: OpenAI's wire format spoken directly (`OpenAIHTTPModel`), or LiteLLM.

Decided from LiteLLM's own model table (`models.catalog`), so a new OpenAI model name needs no code change.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from ..errors import UserError
from .catalog import model_info

BACKENDS = ("auto", "litellm")


def backend_setting() -> str:
    """AGENTSILEX_MODEL_BACKEND ("auto" or "litellm"); the deprecated AGENTSILEX_OPENAI_HTTP still counts."""
    value = os.environ.get("AGENTSILEX_MODEL_BACKEND", "").strip().lower()
    if value:
        if value not in BACKENDS:
            raise UserError(f"AGENTSILEX_MODEL_BACKEND={value!r} is not one of {BACKENDS}: use 'litellm' to send "
                            "every model string through LiteLLM, or 'auto' (the default).")
        return value
    legacy = os.environ.get("AGENTSILEX_OPENAI_HTTP")
    if legacy is None:
        return "auto"
    warnings.warn("AGENTSILEX_OPENAI_HTTP is deprecated: OpenAI model strings take the native path by default; "
                  "set AGENTSILEX_MODEL_BACKEND=litellm to send every model string through LiteLLM instead.",
                  DeprecationWarning, stacklevel=3)
    return "auto" if legacy.strip().lower() not in ("", "0", "false", "no") else "litellm"


def backend_for(model: str) -> str:
    """Which path a model string takes: "native" (OpenAI's wire format, spoken directly) or "litellm".

    - "litellm/<anything>" -> LiteLLM, for this agent; AGENTSILEX_MODEL_BACKEND=litellm -> LiteLLM, for all;
    - "openai/<model>" -> native, except models LiteLLM serves through another OpenAI API (the table lists them
      with a mode other than "chat": Responses-only models such as "o1-pro" or "gpt-5-codex", completion models);
    - a bare name ("gpt-4o", "o3-mini") -> native when LiteLLM's table says OpenAI serves it as a chat model
      (and "ft:gpt-4...", "ft:gpt-3.5-turbo..." fine-tunes, as LiteLLM routes them); any other bare name
      (another provider's, a legacy completion model, a name the table lacks) -> LiteLLM;
    - every other "<provider>/<model>" string ("anthropic/...", "azure/...", "ollama/...") -> LiteLLM.
    """
    if model.startswith("litellm/") or backend_setting() == "litellm":
        return "litellm"
    if model.startswith("openai/"):
        name = model.removeprefix("openai/")
        info = model_info(name)
        chat = info is None or info.get("mode", "chat") == "chat"
        return "native" if chat and not name.startswith("responses/") else "litellm"
    if "/" in model:
        return "litellm"
    if model.startswith("ft:"):  # fine-tunes: LiteLLM sends those of GPT-3.5/4 models to OpenAI's chat API
        return "native" if model.startswith(("ft:gpt-3.5-turbo", "ft:gpt-4")) else "litellm"
    info = model_info(model)
    return "native" if info is not None and info.get("litellm_provider") == "openai" \
        and info.get("mode") == "chat" else "litellm"


_NATIVE_ENV = ("OPENAI_BASE_URL", "OPENAI_API_BASE", "OPENAI_API_KEY", "OPENAI_ORGANIZATION", "OPENAI_ORG_ID",
               "OPENAI_PROJECT_ID", "OPENAI_PROJECT")


def cache_key(model: str) -> tuple:
    """What `resolve_model` shares a model string's Model under: (string, backend, ...). A native model reads its
    endpoint from the environment when built, so a changed environment needs a new one."""
    backend = backend_for(model)
    return (model, backend, *map(os.environ.get, _NATIVE_ENV)) if backend == "native" else (model, backend)


def build_model(model: str, backend: str, **options: Any) -> Any:
    """The Model for a model string on the given path (`options`: `base_url=`, `api_key=`, ...)."""
    if backend == "native":
        from .openai_http import OpenAIHTTPModel  # OpenAI's wire format, spoken directly: no LiteLLM

        return OpenAIHTTPModel(model, **options)
    from .litellm import LiteLLMModel

    return LiteLLMModel(model.removeprefix("litellm/"), **options)
