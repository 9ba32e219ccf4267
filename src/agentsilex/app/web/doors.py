"""The web app's front door: one ASGI middleware in front of everything the app serves (the page, the API, and
any route mounted on it later), so no route can forget a check.

- **Host** (DNS rebinding): a page on an attacker's domain that re-resolves to 127.0.0.1 reaches this server
  with the attacker's name in the `Host` header. A request whose Host is not trusted is refused with 421
  Misdirected Request, as the MCP SDK's server does. Trusted: 127.0.0.1, localhost and [::1] on any port, the
  address the server listens on, the host of its public URL (`--public-url`), and the names given
  (`agentsilex serve --allow-host NAME`).
- **Origin** (cross-site requests): a browser names the page that sent a request in `Origin`; one from a page
  on an untrusted host is refused with 403. JSON bodies also need `Content-Type: application/json`, which a
  plain HTML form cannot send (FastAPI checks it), so a form on another site cannot post a message either.
- **Token**: when the app has one, every request but the page itself, its static files and the `public` paths
  (the A2A agent card) must carry it (`Authorization: Bearer <token>`, or `?token=<token>`), else 401.
Refusals are JSON in the shape of the protocol the request spoke (`error_body`), `{"error", "message"}` by default.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, urlsplit

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
# Starlette's in-process TestClient sends Host "testserver" from client "testclient": no socket, so no browser.
_IN_PROCESS = ("testclient", "testserver")


def trusted_hosts(listen_host: str | None = None, allowed: Iterable[str] = ()) -> set[str]:
    """The host names a request may address: loopback, the address listened on, and the names allowed."""
    names = {*LOOPBACK_NAMES, *(name for name in (listen_host, *allowed) if name)}
    return {host_name(name) for name in names}


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def host_name(value: str) -> str:
    """The host of a Host header (or of a bare name): lower case, without the port or IPv6 brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    name, sep, port = value.rpartition(":")
    if sep and port.isdigit() and ":" not in name:
        return name
    return value


class Doors:
    """ASGI middleware: the Host, Origin and token checks above, for every HTTP request and websocket."""

    def __init__(self, app: Any, *, hosts: set[str], token: str | None = None, public: tuple[str, ...] = (),
                 error_body: Callable[[str, int, str, str], dict] | None = None) -> None:
        self.app, self.hosts, self.token, self.public = app, hosts, token, public
        self.error_body = error_body or (lambda path, status, kind, message: {"error": kind, "message": message})

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": refusal[2][:120]})
        else:
            status, kind, message = refusal
            await _answer(send, status, self.error_body(scope.get("path", "/"), status, kind, message))

    def refusal(self, scope: dict) -> tuple[int, str, str] | None:
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        host = headers.get("host", "")
        if not self._trusted(host, scope):
            return 421, "untrusted_host", (f"This server does not answer for host {host!r} (a DNS rebinding "
                                           "attack looks like this). Open it as http://127.0.0.1 or localhost, "
                                           "or start it with --allow-host NAME for a name you trust.")
        origin = headers.get("origin")
        if origin is not None and not self._trusted(urlsplit(origin).netloc if "://" in origin else origin, scope):
            return 403, "cross_origin", (f"Requests from pages on {origin!r} are refused; use the chat page this "
                                         "server serves, or start it with --allow-host for that host.")
        path = scope.get("path", "/")
        if self.token and not (_open(path) or path in self.public) and not self._has_token(headers, scope):
            return 401, "unauthorized", ("This server needs its token: send 'Authorization: Bearer <token>' (the "
                                         "page takes it from ?token=...).")
        return None

    def _trusted(self, host: str, scope: dict) -> bool:
        if host_name(host) in self.hosts:
            return True
        client = scope.get("client") or ("",)
        return (client[0], host_name(host)) == _IN_PROCESS

    def _has_token(self, headers: dict[str, str], scope: dict) -> bool:
        assert self.token is not None
        given = headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not given:
            given = (parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token") or [""])[0]
        return secrets.compare_digest(given.encode(), self.token.encode())


def _open(path: str) -> bool:
    """The page and its files: no data in them, and the page is where a browser first brings the token."""
    return path in ("/", "/favicon.ico") or path.startswith("/static/")


async def _answer(send: Any, status: int, error: dict) -> None:
    body = json.dumps(error).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
