"""OpenAI's Files and Batch endpoints (and Anthropic's Message Batches), emulated by the loopback server, so
provider batches are tested offline.

    POST /v1/files (multipart: purpose, file)   GET /v1/files/{id}, /v1/files/{id}/content
    POST /v1/batches                            GET /v1/batches/{id}, /v1/batches (limit, after)
    POST /v1/batches/{id}/cancel
    POST /v1/messages/batches                   GET /v1/messages/batches/{id}, /v1/messages/batches/{id}/results

A batch is answered line by line in a background thread by the server's own script or function (the same
`reply_to` as /v1/chat/completions; every body is recorded in `server.requests`): a 2xx answer goes to the output
file, any other to the error file, as OpenAI does (Anthropic's requests and replies are translated to and from
OpenAI's format for the script: anthropic.py). `LoopbackServer(batch_delay=...)` keeps each batch
"in_progress" that many seconds first (to stop a client mid-batch), and `server.batches.expire_next = n` lets the
next batch answer only its first n lines and end "expired".
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

_TERMINAL = {"completed", "failed", "expired", "cancelled"}


class BatchEmulator:
    """The files and batches a loopback server holds (see the module docstring)."""

    def __init__(self, server: Any, delay: float = 0.0) -> None:
        self.server, self.delay = server, delay
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.expire_next: int | None = None
        self.calls = 0  # HTTP requests to these routes
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def handle(self, method: str, url: str, headers: Any, body: bytes) -> tuple[int, Any] | None:
        """(status, JSON payload or raw bytes) for a files or batches route, or None for any other path."""
        parts = urlsplit(url)
        path = [p for p in parts.path.split("/") if p][1:] if parts.path.startswith("/v1/") else []
        self.calls += bool(path) and path[0] in ("files", "batches", "messages")
        if path[:2] == ["messages", "batches"]:
            return self._anthropic(method, path[2:], body)
        if not path or path[0] not in ("files", "batches"):
            return None
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        route = (method, path[0], len(path), path[-1] if len(path) == 3 else None)
        try:
            if route == ("POST", "files", 1, None):
                return 200, self._upload(headers.get("Content-Type") or "", body)
            if route[:3] == ("GET", "files", 2):
                return 200, self._file(path[1])["object"]
            if route == ("GET", "files", 3, "content"):
                return 200, self._file(path[1])["data"]
            if route == ("POST", "batches", 1, None):
                return 200, self._create(json.loads(body or b"{}"))
            if route == ("GET", "batches", 1, None):
                return 200, self._list(int(query.get("limit", 20)), query.get("after"))
            if route[:3] == ("GET", "batches", 2):
                return 200, self._batch(path[1])
            if route == ("POST", "batches", 3, "cancel"):
                return 200, self._cancel(path[1])
        except KeyError as missing:
            return 404, {"error": {"message": f"No such object: {missing.args[0]}", "type": "invalid_request_error"}}
        except ValueError as bad:
            return 400, {"error": {"message": str(bad), "type": "invalid_request_error"}}
        return 404, {"error": {"message": f"no route {method} {parts.path}", "type": "invalid_request_error"}}

    # -- files ---------------------------------------------------------------------------------------------
    def _upload(self, content_type: str, body: bytes) -> dict:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        fields = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
        if "file" not in fields:
            raise ValueError("Upload a 'file' field (multipart/form-data) with purpose 'batch'.")
        data = fields["file"].get_payload(decode=True) or b""
        purpose = (fields["purpose"].get_payload(decode=True) or b"").decode() if "purpose" in fields else ""
        return self._store(data, fields["file"].get_filename() or "upload.jsonl", purpose)["object"]

    def _store(self, data: bytes, filename: str, purpose: str) -> dict:
        file_id = f"file-{next(self._ids)}"
        record = {"data": data, "object": {"id": file_id, "object": "file", "bytes": len(data), "filename": filename,
                                           "purpose": purpose, "created_at": int(time.time())}}
        with self._lock:
            self.files[file_id] = record
        return record

    def _file(self, file_id: str) -> dict:
        return self.files[file_id]

    # -- batches -------------------------------------------------------------------------------------------
    def _create(self, data: dict) -> dict:
        source = self._file(data.get("input_file_id", ""))
        if data.get("endpoint") != "/v1/chat/completions" or data.get("completion_window") != "24h":
            raise ValueError("Only endpoint '/v1/chat/completions' with completion_window '24h' is emulated.")
        lines = [json.loads(line) for line in source["data"].decode().splitlines() if line.strip()]
        batch_id = f"batch_{next(self._ids)}"
        batch = {"id": batch_id, "object": "batch", "endpoint": data["endpoint"], "errors": None,
                 "input_file_id": data["input_file_id"], "completion_window": "24h", "status": "validating",
                 "output_file_id": None, "error_file_id": None, "created_at": int(time.time()),
                 "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                 "metadata": data.get("metadata") or {}}
        with self._lock:
            self.batches[batch_id] = batch
            expire, self.expire_next = self.expire_next, None
        threading.Thread(target=self._work, args=(batch, lines, expire), daemon=True, name="loopback-batch").start()
        return dict(batch)

    def _work(self, batch: dict, lines: list[dict], expire: int | None) -> None:
        batch["status"] = "in_progress"
        self.server.stopping.wait(self.delay)
        done, failed = [], []
        for number, line in enumerate(lines):
            if batch["status"] == "cancelling" or (expire is not None and number >= expire):
                failed.append({"id": f"batch_req_{next(self._ids)}", "custom_id": line.get("custom_id"),
                               "response": None, "error": {"code": "batch_expired" if expire is not None else
                                                           "batch_cancelled", "message": "Not answered in time."}})
                continue
            try:
                answer = self.server.reply_to(line.get("body") or {}, rate_limited=False)
                status, payload = answer.status, answer.payload
            except Exception as exc:  # a script bug shows in the test as a failed line, never as a hung batch
                status, payload = 500, {"error": {"message": f"{type(exc).__name__}: {exc}", "type": "server_error"}}
            item = {"id": f"batch_req_{next(self._ids)}", "custom_id": line.get("custom_id"), "error": None,
                    "response": {"status_code": status, "request_id": f"req_{next(self._ids)}", "body": payload}}
            (done if status < 300 else failed).append(item)
            batch["request_counts"] = {"total": len(lines), "completed": len(done), "failed": len(failed)}
        batch["status"] = "finalizing"
        for key, items in (("output_file_id", done), ("error_file_id", failed)):
            if items:
                data = "".join(json.dumps(item) + "\n" for item in items).encode()
                batch[key] = self._store(data, f"{batch['id']}_{key}.jsonl", "batch_output")["object"]["id"]
        ended = "cancelled" if batch["status"] == "cancelling" else "expired" if expire is not None else "completed"
        batch.update(status=ended, **{f"{ended}_at": int(time.time())})

    def _batch(self, batch_id: str) -> dict:
        return dict(self.batches[batch_id])

    def _list(self, limit: int, after: str | None) -> dict:
        ordered = sorted(self.batches.values(), key=lambda b: int(b["id"].split("_")[1]), reverse=True)  # newest
        if after is not None:
            ids = [b["id"] for b in ordered]
            ordered = ordered[ids.index(after) + 1:] if after in ids else []
        page = [dict(b) for b in ordered[:limit]]
        return {"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None, "has_more": len(ordered) > limit}

    def _cancel(self, batch_id: str) -> dict:
        batch = self.batches[batch_id]
        if batch["status"] not in _TERMINAL:
            batch["status"] = "cancelling"
        return dict(batch)

    # -- Anthropic's message batches -----------------------------------------------------------------------
    def _anthropic(self, method: str, path: list[str], body: bytes) -> tuple[int, Any]:
        from .anthropic import openai_body, to_anthropic

        if method == "POST" and not path:
            requests = json.loads(body or b"{}").get("requests") or []
            batch_id = f"msgbatch_{next(self._ids)}"
            batch = {"id": batch_id, "type": "message_batch", "processing_status": "in_progress",
                     "request_counts": {"processing": len(requests), "succeeded": 0, "errored": 0, "canceled": 0,
                                        "expired": 0}, "results_url": None, "results": []}
            self.batches[batch_id] = batch
            threading.Thread(target=self._work_anthropic, args=(batch, requests, openai_body, to_anthropic),
                             daemon=True, name="loopback-batch").start()
            return 200, {k: v for k, v in batch.items() if k != "results"}
        batch = self.batches.get(path[0]) if path else None
        if method != "GET" or batch is None or "processing_status" not in batch:
            return 404, {"type": "error", "error": {"type": "not_found_error", "message": "No such batch."}}
        if path[1:] == ["results"]:
            return 200, "".join(json.dumps(item) + "\n" for item in batch["results"]).encode()
        return 200, {k: v for k, v in batch.items() if k != "results"}

    def _work_anthropic(self, batch: dict, requests: list[dict], openai_body: Any, to_anthropic: Any) -> None:
        self.server.stopping.wait(self.delay)
        counts = batch["request_counts"]
        for request in requests:
            answer = self.server.reply_to(openai_body(request.get("params") or {}), rate_limited=False)
            if answer.status < 300:
                result = {"type": "succeeded", "message": to_anthropic(answer.payload)}
            else:
                result = {"type": "errored", "error": {"type": "error", "error": {
                    "type": "invalid_request_error" if answer.status < 500 else "api_error",
                    "message": (answer.payload.get("error") or {}).get("message", "")}}}
            batch["results"].append({"custom_id": request.get("custom_id"), "result": result})
            counts["processing"] -= 1
            counts["succeeded" if result["type"] == "succeeded" else "errored"] += 1
        batch["results_url"] = f"{self.server.url}/messages/batches/{batch['id']}/results"
        batch["processing_status"] = "ended"
