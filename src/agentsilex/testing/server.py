"""A loopback OpenAI-compatible server driven by the same scripts as ScriptedModel.

Tests point LiteLLM (or any OpenAI client) at `server.url`, so the real client -> HTTP path runs offline.
    python -m agentsilex.testing.server --port 8000 --script replies.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from ..errors import ModelError
from ..models import ModelRequest
from ..models.stream import response_to_chunks, usage_dict
from .script import Fail, FunctionModel, Reply, ScriptedModel, echo, reply_from_json


class LoopbackServer:
    """`with LoopbackServer(["hi"]) as server:` ... `LiteLLMModel("openai/gpt-4o", base_url=server.url)`."""

    def __init__(self, replies: list[Reply] | None = None, *, function: Callable | None = None,
                 latency: float = 0.0, host: str = "127.0.0.1", port: int = 0) -> None:
        self.model = FunctionModel(function) if function is not None else ScriptedModel(list(replies or []))
        self.latency = latency
        self.requests: list[dict] = []  # every request body, as JSON
        self._ids = itertools.count(1)
        self._httpd = _QuietServer((host, port), _handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def add_replies(self, replies: list[Reply]) -> None:
        """Append replies to the script."""
        self.model.replies.extend(replies)

    def litellm_model(self, name: str = "gpt-4o") -> Any:
        """A LiteLLMModel aimed at this server."""
        from ..models.litellm import LiteLLMModel

        return LiteLLMModel(f"openai/{name}", base_url=self.url, api_key="sk-loopback-test")

    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="loopback-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def reply_to(self, body: dict) -> tuple[int, dict, Any]:
        """(status, headers, payload): payload is a JSON body or a list of chunks to stream."""
        self.requests.append(body)
        if self.latency:
            time.sleep(self.latency)
        request = ModelRequest(body.get("messages") or [], body.get("tools") or [])
        try:
            response = self.model.complete(request)
        except ModelError as exc:
            return exc.status_code or 500, {}, {"error": {"message": str(exc), "type": "scripted_error"}}
        except Exception as exc:  # a script bug must surface in the test, not hang it
            return 500, {}, {"error": {"message": f"{type(exc).__name__}: {exc}", "type": "server_error"}}
        ident, created, model = f"chatcmpl-{next(self._ids)}", int(time.time()), body.get("model", "loopback")
        if body.get("stream"):
            chunks = [{"id": ident, "created": created, **c, "model": model} for c in response_to_chunks(response)]
            return 200, {}, chunks
        return 200, {}, {"id": ident, "object": "chat.completion", "created": created, "model": model,
                         "choices": [{"index": 0, "message": response.message,
                                      "finish_reason": "tool_calls" if response.message.get("tool_calls") else "stop"}],
                         "usage": usage_dict(response.usage)}


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a cancelled or broken-off stream) is expected here, not an error.
        pass


def _handler(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so clients reuse connections

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._json(200, {}, {"object": "list", "data": [{"id": "loopback", "object": "model"}]})
            else:
                self._json(200 if self.path in ("/", "/health") else 404, {}, {"status": "ok"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            if not self.path.rstrip("/").endswith("/chat/completions"):
                return self._json(404, {}, {"error": {"message": f"no route {self.path}"}})
            status, headers, payload = server.reply_to(body)
            if isinstance(payload, list):
                return self._sse(payload)
            self._json(status, headers, payload)

        def _json(self, status: int, headers: dict, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _sse(self, chunks: list[dict]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in chunks:
                self._chunk(f"data: {json.dumps(chunk)}\n\n".encode())
            self._chunk(b"data: [DONE]\n\n")
            self._chunk(b"")

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Loopback OpenAI-compatible server for offline tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--script", help="JSON file: a list of replies; without it, the server echoes")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to wait before each reply")
    args = parser.parse_args(argv)
    replies = None
    if args.script:
        with open(args.script, encoding="utf-8") as handle:
            replies = [reply_from_json(item) for item in json.load(handle)]
    server = LoopbackServer(replies, function=None if replies is not None else echo, latency=args.latency,
                            host=args.host, port=args.port)
    print(f"loopback OpenAI-compatible server on {server.url}", flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
