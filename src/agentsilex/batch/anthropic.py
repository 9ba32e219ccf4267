"""Anthropic's Message Batches API for `run_batch(..., provider="anthropic")`: one POST with every request
(`/v1/messages/batches`), polled until it has ended, then its results file.

Each line's `params` are what LiteLLM sends for that call to Anthropic (models/litellm.py `anthropic_params`), and
each result is read back the way LiteLLM reads a reply (`from_anthropic`), so a run stores what it would have
stored alone. Anthropic's batches carry no metadata: a resumed job finds its batches in the notes the runs
keep with their sessions (replay.py). ANTHROPIC_API_KEY and ANTHROPIC_API_BASE (or the model's own) are used.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ..errors import UserError
from ..models.http import error_for_status
from .openai import BatchAPI

VERSION = "2023-06-01"


class AnthropicBatches(BatchAPI):
    """One Anthropic endpoint's message batches (see the module docstring)."""

    label = "Anthropic batch API"

    provider = "anthropic"

    def __init__(self, model: Any) -> None:
        import httpx

        self.base_url = (getattr(model, "base_url", None) or os.environ.get("ANTHROPIC_API_BASE")
                         or os.environ.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com").rstrip("/")
        key = getattr(model, "_api_key", None) or os.environ.get("ANTHROPIC_API_KEY") or ""
        self.client = httpx.Client(base_url=self.base_url, timeout=120, trust_env=True,
                                   headers={"x-api-key": key, "anthropic-version": VERSION})

    @staticmethod
    def model_for(model: Any) -> Any:
        while "_model" in getattr(model, "__dict__", {}):  # as a wrap sees it (tracing, rate limits)
            model = model.__dict__["_model"]
        name = getattr(model, "name", "")
        if isinstance(name, str) and name.removeprefix("litellm/").startswith("anthropic/"):
            return model
        raise UserError(f"Model {name or model!r} cannot go through Anthropic's batch API: use an "
                        "\"anthropic/...\" model string.")

    @staticmethod
    def group(model: Any) -> tuple[str, str, str]:
        return getattr(model, "base_url", None) or "", getattr(model, "_api_key", None) or "", model.name

    @staticmethod
    def line(custom_id: str, model: Any, request: Any) -> dict:
        from ..models.litellm import anthropic_params

        return {"custom_id": custom_id, "params": anthropic_params(model.name, request)}

    def close(self) -> None:
        self.client.close()

    def submit(self, lines: list[dict], metadata: dict[str, str]) -> dict:
        return self._batch(self._call("POST", "/v1/messages/batches", json={"requests": lines}))

    def status(self, batch_id: str) -> dict:
        return self._batch(self._call("GET", f"/v1/messages/batches/{batch_id}"))

    def find(self, name: str) -> list[dict]:
        return []  # no metadata to find them by: the sessions' notes name them

    def input_ids(self, batch: dict) -> list[str]:
        return []

    def results(self, batch: dict) -> dict[str, dict]:
        if not batch.get("results_url"):
            return {}
        response = self.client.get(batch["results_url"])
        self._check(response)
        found: dict[str, dict] = {}
        for line in response.text.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            result = item.get("result") or {}
            if result.get("type") == "succeeded":
                found[item["custom_id"]] = {"body": result.get("message")}
            else:
                error = (result.get("error") or {}).get("error") or result.get("error") or {}
                code = {"expired": "batch_expired", "canceled": "batch_cancelled"}.get(result.get("type"), "")
                found[item["custom_id"]] = {"status": 400 if error.get("type") == "invalid_request_error" else None,
                                            "error": error.get("message") or result.get("type"), "code": code}
        return found

    @staticmethod
    def answer(found: dict, model: Any, request: Any) -> Any:
        from ..models.litellm import from_anthropic

        if "body" in found:
            return from_anthropic(found["body"], request)
        status = found.get("status")
        return error_for_status(f"Model {model.name!r} failed in the batch: {found['error']}", status=status,
                                model=model.name, transient=status is None)

    @staticmethod
    def _batch(data: dict) -> dict:
        """Anthropic's batch, in the OpenAI shape the driver reads (status, request_counts)."""

        counts = data.get("request_counts") or {}
        failed = sum(counts.get(kind, 0) for kind in ("errored", "canceled", "expired"))
        return {**data, "status": "completed" if data.get("processing_status") == "ended" else "in_progress",
                "request_counts": {"total": sum(counts.values()), "completed": counts.get("succeeded", 0),
                                   "failed": failed}}
