"""A loopback OpenAI-compatible server driven by the same scripts as ScriptedModel.

Tests point LiteLLM (or any OpenAI client) at `server.url`, so the real client -> HTTP path runs offline.
    python -m agentsilex.testing.server --port 8000 --script replies.json
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from ..errors import ModelError, UserError
from ..models import ModelRequest
from ..models.stream import response_to_chunks, usage_dict
from .batches import BatchEmulator
from .script import Cut, Fail, FunctionModel, Malformed, Reply, ScriptedModel, Stall, echo, reply_from_json, to_response


# What other servers do differently, learnt by running against them (docs/local-models.md).
QUIRKS = {
    "openai": set(),
    # llama-cpp-python's server: streams carry no usage (stream_options is ignored); unknown routes answer
    # FastAPI's {"detail": "Not Found"}; response_format "json_schema" fails validation, reported as HTTP 500.
    "llama.cpp": {"no_stream_usage", "detail_errors", "no_json_schema"},
}


class LoopbackServer:
    """`with LoopbackServer(["hi"]) as server:` ... `LiteLLMModel("openai/gpt-4o", base_url=server.url)`.

    `like="llama.cpp"` plays that server's quirks (see QUIRKS). `rate_limit={"rpm": 600, "tpm": 100_000}` enforces
    a provider's limits, answering 429 over them (testing/rate_limit.py; `server.rate_limit.stats()`). OpenAI's
    Files and Batch endpoints are there too (testing/batches.py; `batch_delay` keeps each batch in progress)."""

    def __init__(self, replies: list[Reply] | None = None, *, function: Callable | None = None,
                 latency: float = 0.0, host: str = "127.0.0.1", port: int = 0, like: str = "openai",
                 usage_style: str = "openai", rate_limit: dict[str, float] | None = None,
                 batch_delay: float = 0.0) -> None:
        if like not in QUIRKS:
            raise UserError(f"LoopbackServer(like=...) must be one of {sorted(QUIRKS)}, got {like!r}.")
        self.quirks = QUIRKS[like]
        self.model = FunctionModel(function) if function is not None else ScriptedModel(list(replies or []))
        self.latency = latency
        # How cache and reasoning token counts of a reply's Usage are reported: "openai" (*_tokens_details) or
        # "anthropic" (also cache_read_input_tokens / cache_creation_input_tokens, as LiteLLM reports Claude's).
        if usage_style not in ("openai", "anthropic"):
            raise UserError(f"usage_style must be 'openai' or 'anthropic', got {usage_style!r}.")
        self.usage_style = usage_style
        self.rate_limit = None
        self.batches = BatchEmulator(self, batch_delay)
        if rate_limit is not None:
            from .rate_limit import ServerRateLimit

            self.rate_limit = ServerRateLimit(**rate_limit)
        self.requests: list[dict] = []  # every request body, as JSON
        self.request_headers: list[dict[str, str]] = []  # and its HTTP headers (names in lower case)
        self._ids = itertools.count(1)
        self.stopping = threading.Event()  # ends stalls at once when the server stops
        self._httpd = _QuietServer((host, port), _Handler)
        self._httpd.owner = self
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def add_replies(self, replies: list[Reply]) -> None:
        """Append replies to the script."""
        if not isinstance(self.model, ScriptedModel):
            raise UserError("This server answers with a function; add_replies works only on a scripted server.")
        self.model.replies.extend(replies)

    def litellm_model(self, name: str = "gpt-4o") -> Any:
        """A LiteLLMModel aimed at this server."""
        from ..models.litellm import LiteLLMModel

        return LiteLLMModel(f"openai/{name}", base_url=self.url, api_key="sk-loopback-test")

    def openai_model(self, name: str = "gpt-4o") -> Any:
        """An OpenAIHTTPModel (the native path, no LiteLLM) aimed at this server."""
        from ..models.openai_http import OpenAIHTTPModel

        return OpenAIHTTPModel(f"openai/{name}", base_url=self.url, api_key="sk-loopback-test")

    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), name="loopback-llm",
                                        daemon=True)  # short poll: stop() returns at once
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def reply_to(self, body: dict, rate_limited: bool = True) -> Answer:
        """What to send back for one request: a JSON body or chunks to stream, and any fault to play (the lines of
        a provider batch are not `rate_limited`: providers count them apart)."""
        self.requests.append(body)
        if self.latency:
            time.sleep(self.latency)
        if "no_json_schema" in self.quirks and (body.get("response_format") or {}).get("type") == "json_schema":
            return Answer(500, {}, _error_body(_JSON_SCHEMA_REJECTED, "internal_server_error"))
        limited, admitted = self.rate_limit.admit() if self.rate_limit and rate_limited else (None, None)
        if limited is not None:  # over the limit: 429, and nothing of the script is used
            return Answer(429, limited, _error_body("Rate limit reached: try again later.", "rate_limit_exceeded"))
        fault, planned = self._take_fault(body)
        if isinstance(fault, Fail):
            return Answer(fault.status, dict(fault.headers), _error_body(fault.message, "scripted_error"))
        if isinstance(fault, Stall) and fault.reply is None:
            return Answer(stall=fault.seconds, hang_up=True)
        request = ModelRequest(body.get("messages") or [], body.get("tools") or [])
        try:
            if fault is not None or isinstance(self.model, FunctionModel):
                response = to_response(fault.reply if fault is not None else planned, request, self.model._ids)
            else:
                response = self.model.complete(request)
        except ModelError as exc:
            retry_after = {"Retry-After": f"{exc.retry_after:g}"} if exc.retry_after is not None else {}
            return Answer(exc.status_code or 500, retry_after, _error_body(str(exc), "scripted_error"))
        except Exception as exc:  # a script bug must surface in the test, not hang it
            return Answer(500, {}, _error_body(f"{type(exc).__name__}: {exc}", "server_error"))
        if admitted:
            self.rate_limit.charge(admitted, response.usage.input_tokens + response.usage.output_tokens)
        if isinstance(fault, Malformed):
            return _malformed(fault.kind, self._render({**body, "stream": fault.kind != "plain_json"}, response, 16))
        answer = self._render(body, response, piece=4 if isinstance(fault, Cut) else 16)
        if isinstance(fault, Stall):
            answer.stall, answer.stall_after = fault.seconds, fault.after
        elif isinstance(fault, Cut):
            answer.hang_up, answer.stall_after = True, _cut_point(answer.payload, fault.after)
        return answer

    def _take_fault(self, body: dict) -> tuple[Fail | Stall | Cut | Malformed | None, Any]:
        """(a fault the server plays itself, or None; a function server's reply when it is no fault).

        Scripts: a fault at the head of the script (a `forever` Fail stays there). Functions: the function
        may return a fault item for this request."""
        model = self.model
        if isinstance(model, FunctionModel):
            with model._lock:
                model.requests.append(ModelRequest(body.get("messages") or [], body.get("tools") or []))
            reply = model.function(body.get("messages") or [], body.get("tools") or [])
            return (reply, None) if isinstance(reply, (Fail, Stall, Cut, Malformed)) else (None, reply)
        with model._lock:
            head = model.replies[0] if model.replies else None
            if not isinstance(head, (Fail, Stall, Cut, Malformed)):
                return None, None
            if not getattr(head, "forever", False):
                model.replies.pop(0)
            return head, None

    def _render(self, body: dict, response: Any, piece: int) -> Answer:
        ident, created, model = f"chatcmpl-{next(self._ids)}", int(time.time()), body.get("model", "loopback")
        if body.get("stream"):
            chunks = [{"id": ident, "created": created, **c, "model": model}
                      for c in response_to_chunks(response, piece=piece, usage_style=self.usage_style)]
            return Answer(payload=chunks[:-1] if "no_stream_usage" in self.quirks else chunks)  # usage is last
        finish = response.finish_reason or ("tool_calls" if response.message.get("tool_calls") else "stop")
        return Answer(payload={"id": ident, "object": "chat.completion", "created": created, "model": model,
                               "choices": [{"index": 0, "message": response.message, "finish_reason": finish}],
                               "usage": usage_dict(response.usage, self.usage_style)})


@dataclass
class Answer:
    """One HTTP answer: status, headers, a JSON body (dict) or stream chunks (list), and a fault to play.

    A stall waits `stall` seconds (after `stall_after` chunks when streaming); `hang_up` closes the
    connection instead of finishing (after `stall_after` chunks, or halfway through a JSON body)."""

    status: int = 200
    headers: dict = field(default_factory=dict)
    payload: Any = None
    stall: float = 0.0
    stall_after: int = 0
    hang_up: bool = False
    raw: bytes | None = None  # sent as it is (with `headers`), instead of `payload`
    sse_tail: list[str] | None = None  # stream: what follows the chunks (default: [DONE])


def _malformed(kind: str, answer: Answer) -> Answer:
    """A 200 answer a client must not take for a complete reply (see testing.Malformed)."""
    chunks = answer.payload
    if kind == "html":
        return Answer(headers={"Content-Type": "text/html"}, raw=b"<html><body>Please sign in</body></html>")
    if kind == "empty":
        return Answer(headers={"Content-Type": "text/event-stream"}, raw=b"")
    if kind == "json_without_choices":
        return Answer(payload={"id": "chatcmpl-0", "object": "chat.completion", "model": "loopback"})
    if kind == "plain_json":
        return answer
    middle = chunks[:max(1, len(chunks) // 2)]
    if kind == "sse_error":
        return Answer(payload=middle, sse_tail=['{"error": {"message": "upstream overloaded", "type": "server_error"}}'])
    if kind == "bad_json":
        return Answer(payload=middle, sse_tail=["{not json"])
    return Answer(payload=[c for c in chunks if not any(ch.get("finish_reason") for ch in c.get("choices") or [])
                           and not c.get("usage")], sse_tail=[])  # unfinished


_JSON_SCHEMA_REJECTED = ("1 validation error: {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
                         "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}")


def _error_body(message: str, kind: str) -> dict:
    return {"error": {"message": message, "type": kind}}


def _cut_point(chunks: Any, after: int | None) -> int:
    """By default, cut right after the first piece of the first tool call's arguments (mid-JSON)."""
    if after is not None or not isinstance(chunks, list):
        return after or 0
    for index, chunk in enumerate(chunks):
        for choice in chunk.get("choices") or []:
            if any((c.get("function") or {}).get("arguments") for c in choice["delta"].get("tool_calls") or []):
                return index + 1
    return len(chunks) // 2


class _QuietServer(ThreadingHTTPServer):
    request_queue_size = 2048  # benchmarks open a thousand connections at once
    owner: LoopbackServer
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a cancelled or broken-off stream) is expected here, not an error.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _QuietServer
    protocol_version = "HTTP/1.1"  # keep-alive, so clients reuse connections
    disable_nagle_algorithm = True  # else small writes wait ~40 ms for delayed ACKs

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        if self._batch_route(b""):
            return
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {}, {"object": "list", "data": [{"id": "loopback", "object": "model"}]})
        else:
            self._json(200 if self.path in ("/", "/health") else 404, {}, {"status": "ok"})

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self._batch_route(raw):
            return
        body = json.loads(raw or b"{}")
        self.server.owner.request_headers.append({k.lower(): v for k, v in self.headers.items()})
        fastapi = "detail_errors" in self.server.owner.quirks  # FastAPI serves exactly /v1/chat/completions
        if not self.path.rstrip("/").endswith("/chat/completions") or (fastapi and not self.path.startswith("/v1/")):
            return self._json(404, {}, {"detail": "Not Found"} if fastapi else
                              {"error": {"message": f"no route {self.path}"}})
        answer = self.server.owner.reply_to(body)
        if answer.raw is not None:
            return self._raw(answer)
        if answer.payload is None:  # a stall with nothing to say: go quiet, then hang up
            self.server.owner.stopping.wait(answer.stall)
            self.close_connection = True
        elif isinstance(answer.payload, list):
            self._sse(answer)
        else:
            if answer.stall:
                self.server.owner.stopping.wait(answer.stall)
            self._json(answer.status, answer.headers, answer.payload, cut=answer.hang_up)

    def _batch_route(self, raw: bytes) -> bool:
        """OpenAI's files and batches (testing/batches.py); each line of a batch is recorded in `requests`."""
        answer = self.server.owner.batches.handle(self.command, self.path, self.headers, raw)
        if answer is None:
            return False
        status, payload = answer
        if isinstance(payload, bytes):
            self._raw(Answer(status, {"Content-Type": "application/octet-stream"}, raw=payload))
        else:
            self._json(status, {}, payload)
        return True

    def _json(self, status: int, headers: dict, payload: Any, cut: bool = False) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data[:len(data) // 2] if cut else data)
        self.close_connection = self.close_connection or cut

    def _sse(self, answer: Answer) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for index, chunk in enumerate(answer.payload):
            if index == answer.stall_after and (answer.stall or answer.hang_up):
                self.server.owner.stopping.wait(answer.stall)
                if answer.hang_up:  # no terminating chunk: the client sees a broken body
                    self.close_connection = True
                    return
            self._chunk(f"data: {json.dumps(chunk)}\n\n".encode())
        for line in ["[DONE]"] if answer.sse_tail is None else answer.sse_tail:
            self._chunk(f"data: {line}\n\n".encode())
        self._chunk(b"")

    def _raw(self, answer: Answer) -> None:
        assert answer.raw is not None
        self.send_response(answer.status)
        for key, value in answer.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(answer.raw)))
        self.end_headers()
        self.wfile.write(answer.raw)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Loopback OpenAI-compatible server for offline tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--script", help="JSON file: a list of replies; without it, the server echoes")
    parser.add_argument("--function", help="module:function deciding each reply, e.g. bench.policy:reply")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to wait before each reply")
    parser.add_argument("--like", choices=sorted(QUIRKS), default="openai", help="play another server's quirks")
    parser.add_argument("--rpm", type=float, help="enforce a requests-per-minute limit (429 over it)")
    parser.add_argument("--tpm", type=float, help="enforce a tokens-per-minute limit (429 over it)")
    args = parser.parse_args(argv)
    replies, function = None, echo
    if args.script:
        with open(args.script, encoding="utf-8") as handle:
            replies = [reply_from_json(item) for item in json.load(handle)]
    elif args.function:
        module, _, name = args.function.partition(":")
        function = getattr(importlib.import_module(module), name)
    server = LoopbackServer(replies, function=None if replies is not None else function, latency=args.latency,
                            host=args.host, port=args.port, like=args.like,
                            rate_limit={"rpm": args.rpm, "tpm": args.tpm} if args.rpm or args.tpm else None)
    print(f"loopback OpenAI-compatible server on {server.url}", flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
