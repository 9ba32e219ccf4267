"""The native path in the real world: proxies, custom CA certificates, organization/project headers, per-agent
endpoints and keys, and connection pools that close cleanly -- in sync and async runs alike."""

from __future__ import annotations

import asyncio
import gc
import http.client
import os
import ssl
import subprocess
import sys
import textwrap
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from agentsilex import Agent, Runner
from agentsilex.errors import ModelError
from agentsilex.models import ModelRequest
from agentsilex.models.openai_http import OpenAIHTTPModel
from agentsilex.testing import LoopbackServer

DATA = Path(__file__).parent / "data"  # a self-signed certificate for 127.0.0.1 (test use only)
REQUEST = ModelRequest([{"role": "user", "content": "hi"}])
PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
             "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in PROXY_ENV + ("OPENAI_ORG_ID", "OPENAI_ORGANIZATION", "OPENAI_PROJECT_ID", "OPENAI_PROJECT"):
        monkeypatch.delenv(name, raising=False)


def both_modes(model) -> list[str]:
    """One answer through the sync client (httpx) and one through the async one (aiohttp)."""
    first = model.complete(REQUEST).message["content"]
    second = asyncio.run(model.complete_async(REQUEST)).message["content"]
    return [first, second]


class _Proxy(ThreadingHTTPServer):
    daemon_threads = True


class RecordingProxy:
    """A minimal forward HTTP proxy that records the URLs it was asked for."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                owner.seen.append(self.path)
                target = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
                upstream.request("POST", target.path, body, headers)
                reply = upstream.getresponse()
                data = reply.read()
                self.send_response(reply.status)
                for key, value in reply.getheaders():
                    if key.lower() not in ("transfer-encoding", "content-length", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

        self.httpd = _Proxy(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_http_proxy_and_no_proxy_are_honoured_in_sync_and_async(monkeypatch):
    proxy = RecordingProxy()
    try:
        with LoopbackServer(["via proxy 1", "via proxy 2", "direct 1", "direct 2"]) as server:
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
            monkeypatch.setenv("HTTPS_PROXY", proxy.url)
            assert both_modes(server.openai_model()) == ["via proxy 1", "via proxy 2"]
            assert proxy.seen == [server.url + "/chat/completions"] * 2
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
            assert both_modes(server.openai_model()) == ["direct 1", "direct 2"]
            assert len(proxy.seen) == 2 and len(server.requests) == 4
    finally:
        proxy.stop()


@pytest.fixture
def tls_server():
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(DATA / "loopback-cert.pem", DATA / "loopback-key.pem")
    server = LoopbackServer(["secure 1", "secure 2"])
    server._httpd.socket = context.wrap_socket(server._httpd.socket, server_side=True)
    with server:
        yield server, server.url.replace("http://", "https://")


def test_ssl_cert_file_is_trusted_in_sync_and_async(tls_server, monkeypatch):
    server, url = tls_server
    untrusted = OpenAIHTTPModel("openai/gpt-4o", base_url=url, api_key="k")
    with pytest.raises(ModelError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        untrusted.complete(REQUEST)
    with pytest.raises(ModelError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        asyncio.run(untrusted.complete_async(REQUEST))
    monkeypatch.setenv("SSL_CERT_FILE", str(DATA / "loopback-cert.pem"))
    assert both_modes(OpenAIHTTPModel("openai/gpt-4o", base_url=url, api_key="k")) == ["secure 1", "secure 2"]


@pytest.mark.parametrize("org_var", ["OPENAI_ORG_ID", "OPENAI_ORGANIZATION"])
def test_organization_and_project_headers_match_litellm(monkeypatch, org_var):
    monkeypatch.setenv(org_var, "org-123")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-456")
    with LoopbackServer(["a", "b", "c"]) as server:
        server.litellm_model().complete(REQUEST)
        both_modes(server.openai_model())
        sent = [(h.get("openai-organization"), h.get("openai-project")) for h in server.request_headers]
    assert sent == [("org-123", "proj-456")] * 3


def test_explicit_organization_project_and_headers_win(monkeypatch):
    monkeypatch.setenv("OPENAI_ORG_ID", "org-env")
    monkeypatch.setenv("OPENAI_PROJECT", "proj-env")
    with LoopbackServer(["a", "b", "c"]) as server:
        both_modes(server.openai_model())
        model = OpenAIHTTPModel("gpt-4o", base_url=server.url, api_key="k", organization="org-arg",
                                headers={"OpenAI-Project": "proj-header", "X-Team": "blue"})
        model.complete(REQUEST)
        first, _, last = server.request_headers
    assert (first["openai-organization"], first["openai-project"]) == ("org-env", "proj-env")
    assert (last["openai-organization"], last["openai-project"], last["x-team"]) == ("org-arg", "proj-header", "blue")


def test_each_agent_keeps_its_own_endpoint_and_key(mode_runner=None):
    with LoopbackServer(["from one", "from one again"]) as one, LoopbackServer(["from two", "again two"]) as two:
        first = Agent(name="a", model=OpenAIHTTPModel("gpt-4o", base_url=one.url, api_key="key-one"))
        second = Agent(name="b", model=OpenAIHTTPModel("gpt-4o-mini", base_url=two.url, api_key="key-two"))
        assert Runner().run(first, "hi").final_output == "from one"
        assert asyncio.run(Runner().run_async(second, "hi")).final_output == "from two"
        assert asyncio.run(Runner().run_async(first, "hi")).final_output == "from one again"
        assert Runner().run(second, "hi").final_output == "again two"
    assert [h["authorization"] for h in one.request_headers] == ["Bearer key-one"] * 2
    assert [h["authorization"] for h in two.request_headers] == ["Bearer key-two"] * 2
    assert [b["model"] for b in one.requests + two.requests] == ["gpt-4o"] * 2 + ["gpt-4o-mini"] * 2


def test_a_session_closes_with_asyncio_run_and_frees_its_loop():
    with LoopbackServer(["a", "b"]) as server:
        model = server.openai_model()
        sessions = []

        async def call():
            await model.complete_async(REQUEST)
            sessions.append(next(iter(model._by_loop.values()))[0])

        asyncio.run(call())
        asyncio.run(call())
    assert all(session.closed for session in sessions) and len(model._by_loop) == 0


def test_a_loop_closed_without_cleanup_leaves_no_unclosed_session():
    # asyncio itself leaks the sockets of a loop closed this way ("unclosed transport"); what must not happen is
    # an aiohttp session or connector left open for the garbage collector.
    with LoopbackServer(["a", "b", "c"]) as server, warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        warnings.filterwarnings("error", "Unclosed (client session|connector)", ResourceWarning)
        model = server.openai_model()
        loop = asyncio.new_event_loop()
        loop.run_until_complete(model.complete_async(REQUEST))
        session = next(iter(model._by_loop.values()))[0]
        loop.close()  # no shutdown_asyncgens(): the session's closer never runs
        asyncio.run(model.complete_async(REQUEST))  # the next session the model opens sweeps the dead one
        assert session.closed and len(model._by_loop) == 0
        loop = asyncio.new_event_loop()
        loop.run_until_complete(model.complete_async(REQUEST))
        session = next(iter(model._by_loop.values()))[0]
        loop.close()
        seen: list = []
        previous, sys.unraisablehook = sys.unraisablehook, seen.append
        try:
            del model  # dropping the model closes what it held
            gc.collect()
        finally:
            sys.unraisablehook = previous
        assert session.closed and not [s for s in seen if "Unclosed" in str(s.exc_value)]


def test_nothing_is_left_unclosed_at_interpreter_exit(loopback_server):
    loopback_server.add_replies(["a", "b", "c"])
    script = textwrap.dedent("""
        import asyncio, sys
        from agentsilex.models import ModelRequest, resolve_model
        model = resolve_model("gpt-4o")
        request = ModelRequest([{"role": "user", "content": "hi"}])
        model.complete(request)
        loop = asyncio.new_event_loop()
        loop.run_until_complete(model.complete_async(request))   # this loop is never closed
        other = asyncio.new_event_loop()
        other.run_until_complete(model.complete_async(request))
        other.close()                                           # this one is closed without clean-up
        print("done")
    """)
    env = {**os.environ, "OPENAI_BASE_URL": loopback_server.url, "OPENAI_API_KEY": "sk-test",
           "PYTHONDEVMODE": "1"}  # dev mode shows every ResourceWarning
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "done", done.stderr[-2000:]
    assert "Unclosed client session" not in done.stderr and "Unclosed connector" not in done.stderr, done.stderr[-2000:]
