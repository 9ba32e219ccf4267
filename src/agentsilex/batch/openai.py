"""OpenAI's Batch API for `run_batch`: upload the requests as a JSONL file (`/v1/files`), create a batch
(`/v1/batches`), poll it, read the output and error files.

Each line's body is exactly what the native path sends for that call (`OpenAIHTTPModel._body`), and each answer
is read as the native path reads one (`_to_response`), so a run through a batch stores what it would have stored
alone. A batch carries `metadata` {"agentsilex_batch": <name>, "agentsilex_round": <n>}: after a crash, the
batches of a job are found again by listing them (`find`). Works with any OpenAI-compatible server that has
these endpoints (the loopback server emulates them: testing/batches.py).
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import ModelError, UserError
from ..models.catalog import model_info
from ..models.http import error_for_status, error_text
from ..models.openai_http import OpenAIHTTPModel, _to_response

ENDPOINT = "/v1/chat/completions"
FINISHED = {"completed", "failed", "expired", "cancelled"}


class BatchAPI:
    """What a provider's batch API client shares: a call and its typed error (`label` names the API in it)."""

    label = "Batch API"
    client: Any
    base_url: str

    def _call(self, method: str, path: str, **kwargs: Any) -> dict:
        try:
            response = self.client.request(method, path, **kwargs)
        except Exception as exc:
            raise error_for_status(f"{self.label} at {self.base_url} failed: {type(exc).__name__}: {exc}",
                                   status=None, connection=True) from None
        self._check(response)
        return response.json()

    def _check(self, response: Any) -> None:
        if response.status_code >= 400:
            message, _ = error_text(response.content)
            raise error_for_status(f"{self.label} {response.request.method} {response.request.url.path} failed "
                                   f"(HTTP {response.status_code}): {message}", status=response.status_code)


class OpenAIBatches(BatchAPI):
    """One OpenAI-compatible server's files and batches (the base URL and key of the models sent to it)."""

    label = "OpenAI batch API"

    provider = "openai"

    def __init__(self, model: OpenAIHTTPModel) -> None:
        import httpx

        self.base_url = model.base_url
        self.client = httpx.Client(base_url=model.base_url, headers=dict(model._headers), timeout=120,
                                   trust_env=True, verify=model._tls_context())

    @staticmethod
    def model_for(model: Any) -> OpenAIHTTPModel:
        """The native model that builds and reads this call's body (a LiteLLM model string of OpenAI's too)."""
        while "_model" in getattr(model, "__dict__", {}):  # as a wrap sees it (tracing, rate limits): the model itself
            model = model.__dict__["_model"]
        if isinstance(model, OpenAIHTTPModel):
            return model
        name = getattr(model, "name", "")
        bare = name.removeprefix("litellm/") if isinstance(name, str) else ""
        if bare.startswith("openai/") or (model_info(bare) or {}).get("litellm_provider") == "openai":
            return OpenAIHTTPModel(bare, base_url=getattr(model, "base_url", None),
                                   api_key=getattr(model, "_api_key", None))
        raise UserError(f"Model {name or model!r} cannot go through OpenAI's batch API: use an OpenAI model string "
                        "(\"gpt-4o-mini\", \"openai/...\") or an OpenAIHTTPModel for an OpenAI-compatible server.")

    @staticmethod
    def group(model: OpenAIHTTPModel) -> tuple[str, str, str]:
        """Which batch a call joins: one server and key, one model (OpenAI wants a single model per batch)."""
        return model.base_url, model._api_key, model.wire_model

    @staticmethod
    def line(custom_id: str, model: OpenAIHTTPModel, request: Any) -> dict:
        return {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": model._body(request, False)}

    def close(self) -> None:
        self.client.close()

    # -- the endpoints -------------------------------------------------------------------------------------
    def submit(self, lines: list[dict], metadata: dict[str, str]) -> dict:
        """Upload the lines and create the batch; returns the batch object."""
        data = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines).encode()
        uploaded = self._call("POST", "/files", files={"file": ("agentsilex-batch.jsonl", data, "application/jsonl")},
                              data={"purpose": "batch"})
        return self._call("POST", "/batches", json={"input_file_id": uploaded["id"], "endpoint": ENDPOINT,
                                                    "completion_window": "24h", "metadata": metadata})

    def status(self, batch_id: str) -> dict:
        return self._call("GET", f"/batches/{batch_id}")

    def find(self, name: str) -> list[dict]:
        """Every batch of the job `name` on this server, oldest first."""
        found, after = [], None
        while True:
            page = self._call("GET", "/batches", params={"limit": 100, **({"after": after} if after else {})})
            found += [b for b in page.get("data") or [] if (b.get("metadata") or {}).get("agentsilex_batch") == name]
            if not page.get("has_more") or not page.get("data"):
                return found[::-1]
            after = page["data"][-1]["id"]

    def input_ids(self, batch: dict) -> list[str]:
        """The custom ids a batch was given (read back from its input file)."""
        return [item["custom_id"] for item in self._lines(batch.get("input_file_id"))]

    def results(self, batch: dict) -> dict[str, dict]:
        """custom id -> {"body": ...} for an answer, {"status": ..., "error": ...} for a failure."""
        found: dict[str, dict] = {}
        for item in self._lines(batch.get("output_file_id")) + self._lines(batch.get("error_file_id")):
            response = item.get("response") or {}
            status = response.get("status_code")
            if status is not None and status < 300 and item.get("error") is None:
                found[item["custom_id"]] = {"body": response.get("body")}
            else:
                body = response.get("body") or {"error": item.get("error") or {}}
                message, code = error_text(json.dumps(body).encode())
                found[item["custom_id"]] = {"status": status, "error": message, "code": code}
        return found

    @staticmethod
    def answer(found: dict, model: OpenAIHTTPModel, request: Any) -> Any:
        """The reply of one line, read as the native path reads one (or the ModelError it is)."""
        if "body" in found:
            return _to_response(found["body"], model, request)
        status, code = found.get("status"), found.get("code") or ""
        text = f"Model {model.name!r} failed in the batch{f' (HTTP {status})' if status else ''}: {found['error']}"
        transient = status is None and code in ("batch_expired", "batch_cancelled")  # never answered: ask again
        return error_for_status(text, status=status, model=model.name, transient=transient,
                                context_window="context_length" in code)

    def _lines(self, file_id: str | None) -> list[dict]:
        if not file_id:
            return []
        response = self.client.get(f"/files/{file_id}/content")
        self._check(response)
        return [json.loads(line) for line in response.text.splitlines() if line.strip()]




__all__ = ["OpenAIBatches", "FINISHED", "ModelError"]
