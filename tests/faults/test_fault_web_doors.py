"""Issue 21, the web door: DNS rebinding (a foreign Host header is refused with 421 on every route, also on
routes added to the app later), cross-site requests (Origin, form posts), and the token when serving beyond
loopback. Through FastAPI's test client, and through a real `agentsilex serve` process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("fastapi")
import httpx  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocket, WebSocketDisconnect  # noqa: E402

from agentsilex.app.common import Store  # noqa: E402
from agentsilex.testing.demo import DemoModel  # noqa: E402
from agentsilex.testing.demo import agent as demo_agent  # noqa: E402
from agentsilex.app.web import create_app  # noqa: E402

ROUTES = [("GET", "/"), ("GET", "/static/app.js"), ("GET", "/api/info"), ("GET", "/api/sessions"),
          ("POST", "/api/sessions"), ("GET", "/api/sessions/chat/messages"), ("POST", "/api/sessions/chat/messages"),
          ("DELETE", "/api/sessions/chat"), ("GET", "/openapi.json"), ("GET", "/docs"),
          ("GET", "/v1/models"), ("GET", "/ag-ui/state"),  # these two: also routes added after create_app
          ("POST", "/v1/chat/completions"), ("POST", "/ag-ui"), ("POST", "/api/vercel/chat"), ("POST", "/a2a"),
          ("GET", "/.well-known/agent-card.json")]  # the protocols' doors (issue 24)


@pytest.fixture
def store(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'web.db'}")
    store.create("chat").add_new_messages([{"role": "user", "content": "my private question"}])
    return store


def app_with_late_routes(store, **options) -> FastAPI:
    """The app, plus routes another module mounts on it afterwards (as /v1 and /ag-ui are)."""
    app = create_app(demo_agent.clone(model=DemoModel(delay=0)), store=store, **options)

    @app.get("/v1/models")
    def models() -> dict:
        return {"data": [{"id": "demo"}]}

    late = FastAPI()

    @late.get("/state")
    def state() -> dict:
        return {"sessions": store.list()}

    app.mount("/ag-ui", late)
    return app


def error_kind(answer) -> str:
    """The error's kind in the shape of the door it came from: the JSON API's, OpenAI's, AG-UI's or Vercel's."""
    body = answer.json()
    found = body.get("error")
    return found.get("code") if isinstance(found, dict) else found or body.get("code")


def request(client, method: str, path: str, **options):
    body = {"json": {"content": "spend their key"}} if method == "POST" else {}
    return client.request(method, path, **body, **options)


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil",
                                  "[::2]:8000", ""])
def test_a_foreign_host_is_refused_with_421_on_every_route(store, method, path, host):
    client = TestClient(app_with_late_routes(store))
    answer = request(client, method, path, headers={"host": host})
    assert answer.status_code == 421, answer.text
    assert error_kind(answer) == "untrusted_host" and "my private question" not in answer.text
    assert store.session("chat").get_dialogs() == [{"role": "user", "content": "my private question"}]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8000", "localhost:5000", "LOCALHOST", "[::1]:8000",
                                  "[::1]"])
def test_loopback_names_on_any_port_are_trusted(store, host):
    client = TestClient(app_with_late_routes(store))
    for method, path in [("GET", "/api/sessions"), ("GET", "/v1/models"), ("GET", "/ag-ui/state"), ("GET", "/")]:
        assert request(client, method, path, headers={"host": host}).status_code == 200, (host, path)


def test_the_served_host_and_allowed_names_are_trusted(store):
    client = TestClient(app_with_late_routes(store, host="10.1.2.3", allowed_hosts=["chat.example.org"],
                                             token="t0ken-0123456789"))
    auth = {"authorization": "Bearer t0ken-0123456789"}
    for host in ("10.1.2.3:8000", "chat.example.org", "CHAT.example.org:443"):
        assert client.get("/api/sessions", headers={"host": host, **auth}).status_code == 200, host
    assert client.get("/api/sessions", headers={"host": "evil.example", **auth}).status_code == 421


def test_the_public_url_host_is_trusted_and_a_refused_protocol_client_reads_its_own_error_shape(store):
    client = TestClient(app_with_late_routes(store, public_url="https://agents.example.com", token="t0ken-0123456789"))
    auth = {"authorization": "Bearer t0ken-0123456789"}
    assert client.get("/api/sessions", headers={"host": "agents.example.com", **auth}).status_code == 200
    card = client.get("/.well-known/agent-card.json", headers={"host": "agents.example.com"})
    assert card.status_code == 200 and "https://agents.example.com/a2a" in card.text
    foreign = client.get("/v1/models", headers={"host": "evil.example", **auth})
    assert foreign.status_code == 421 and foreign.json()["error"]["code"] == "untrusted_host"  # OpenAI's shape
    no_token = client.post("/v1/chat/completions", json={"model": "assistant", "messages": []})
    assert no_token.status_code == 401 and no_token.json()["error"]["code"] == "invalid_api_key"


def test_requests_from_pages_on_other_sites_are_refused(store):
    client = TestClient(app_with_late_routes(store))
    for origin in ("http://evil.example", "https://evil.example:8000", "null"):
        answer = client.post("/api/sessions/chat/messages", json={"content": "hi"}, headers={"origin": origin})
        assert answer.status_code == 403 and error_kind(answer) == "cross_origin", origin
    same_site = client.post("/api/sessions", json={}, headers={"origin": "http://localhost:8000"})
    assert same_site.status_code == 201
    # A plain HTML form cannot send JSON: its post is refused before any run (the CSRF protection kept).
    for kind, data in [("application/x-www-form-urlencoded", "content=hi"), ("text/plain", '{"content": "hi"}'),
                       ("multipart/form-data; boundary=x", "--x--")]:
        answer = client.post("/api/sessions/chat/messages", content=data, headers={"content-type": kind})
        assert answer.status_code == 422, (kind, answer.text)
    assert store.session("chat").get_dialogs() == [{"role": "user", "content": "my private question"}]


def test_with_a_token_every_route_but_the_page_needs_it(store):
    client = TestClient(app_with_late_routes(store, token="t0ken-0123456789"))
    for method, path in ROUTES:
        answer = request(client, method, path)
        # The A2A agent card stays public: a client reads it to learn how to authenticate (issue 24).
        expected = 200 if path in ("/", "/static/app.js", "/.well-known/agent-card.json") else 401
        assert answer.status_code == expected, (method, path, answer.status_code)
    assert client.get("/v1/models?token=t0ken-0123456789").status_code == 200
    assert client.get("/ag-ui/state", headers={"authorization": "Bearer t0ken-0123456789"}).status_code == 200


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(tmp_path, *options: str) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "agentsilex.app.cli", "serve", "agentsilex.testing.demo:agent", "--port", str(port),
         "--store", f"sqlite:///{tmp_path / 'served.db'}", *options],
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"agentsilex serve did not start:\n{process.stdout.read()}") from None
            time.sleep(0.1)


def test_a_real_server_refuses_a_rebinding_domain(tmp_path):
    process, port = _serve(tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/api/sessions").status_code == 200
        for path in ("/", "/api/sessions", "/api/info"):
            answer = httpx.get(f"{base}{path}", headers={"host": f"rebind.attacker.example:{port}"})
            assert answer.status_code == 421, (path, answer.text)
        posted = httpx.post(f"{base}/api/sessions", json={"id": "x"}, headers={"host": "rebind.attacker.example"})
        assert posted.status_code == 421 and "x" not in [s["id"] for s in httpx.get(f"{base}/api/sessions").json()
                                                          ["sessions"]]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serving_beyond_loopback_generates_and_prints_a_token(tmp_path):
    process, port = _serve(tmp_path, "--host", "0.0.0.0")
    try:
        line = process.stdout.readline()
        assert "?token=" in line, line
        token = line.split("?token=")[1].split()[0]
        base = f"http://127.0.0.1:{port}"
        assert len(token) >= 20 and httpx.get(f"{base}/api/sessions").status_code == 401
        assert httpx.get(f"{base}/api/sessions", headers={"authorization": f"Bearer {token}"}).status_code == 200
        assert httpx.get(f"{base}/", headers={"host": f"evil.example:{port}"}).status_code == 421
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_websockets_mounted_later_get_the_same_checks(store):

    app = app_with_late_routes(store, token="t0ken-0123456789")

    @app.websocket("/live")
    async def live(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({"sessions": store.list()})
        try:
            await websocket.receive_text()  # until the client goes
        except WebSocketDisconnect:
            pass

    client = TestClient(app)
    for headers in ({"host": "evil.example", "authorization": "Bearer t0ken-0123456789"}, {}):
        with pytest.raises(WebSocketDisconnect) as closed:
            with client.websocket_connect("/live", headers=headers) as socket_:
                socket_.receive_json()
        assert closed.value.code == 1008
    with client.websocket_connect("/live?token=t0ken-0123456789") as socket_:
        assert socket_.receive_json()["sessions"][0]["id"] == "chat"
