"""The soak's door rows: the same two-request tool runs, with the same model faults, through the web chat's API and
through MCP serving, over real HTTP (`bench/soak.py --through web` / `--through mcp`).

    .venv/bin/python bench/soak.py --through web --runs 300
    .venv/bin/python bench/soak.py --through mcp --runs 300 --store redis

Besides the loopback server's faults (bench/soak.py), the doors get their own: the model's API key is a secret
that 5% of the model's error answers echo back (it must reach no client, no stored message); every 10th web
client hangs up after the first event (the run is abandoned mid-answer); every 20th web client first tries the
API under a foreign Host (DNS rebinding: must get 421 and create nothing); every 20th MCP call asks for a served
tool that needs approval (must be refused, and must never run). Checked for every run as in bench/soak.py: the
right answer or a typed error, a valid session, nothing twice.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import os
import socket
import tempfile
import threading
import time
import uuid

from soak import Policy, check_one, make_session, runner_for

from agentsilex import Agent, errors, tool
from agentsilex.mcp import errors as mcp_errors
from agentsilex.messages import INTERRUPTED
from agentsilex.models.openai_http import OpenAIHTTPModel
from agentsilex.testing import Fail, LoopbackServer

SECRET = f"sk-soak-{uuid.uuid4().hex}"  # the model's key: echoed by some error answers, never shown to a client
TAG = uuid.uuid4().hex[:8]


def typed_errors() -> set[str]:
    """The names of every AgentsilexError class loaded now. Since issue 20 many live in their features' modules
    (served lazily by agentsilex.errors, so not in its vars); an error a run raised has its class loaded."""
    found, todo = set(), [errors.AgentsilexError, mcp_errors.MCPError]
    while todo:
        kind = todo.pop()
        found.add(kind.__name__)
        todo.extend(kind.__subclasses__())
    return found


class LeakyPolicy(Policy):
    """bench/soak.py's faults, plus 5% of answers an HTTP 500 whose message quotes the model's API key."""

    def __call__(self, messages: list[dict], tools: list[dict]):
        with self.lock:
            leak = self.random.random() < 0.05
            if leak:
                self.faults["500 echoing the key"] += 1
        return Fail(500, f"upstream refused key {SECRET}") if leak else super().__call__(messages, tools)


class Counts:
    """How often the soak's tools ran: add(a, b) by `a` (the run's index), and the approval-gated wipe."""

    def __init__(self) -> None:
        self.lock, self.added, self.wiped = threading.Lock(), collections.Counter(), 0

    def tools(self) -> tuple:
        @tool
        def add(a: int, b: int) -> int:
            """Add two numbers."""
            with self.lock:
                self.added[a] += 1
            return a + b

        @tool(needs_approval=True)
        def wipe() -> str:
            """Delete everything (needs a person's approval)."""
            with self.lock:
                self.wiped += 1
            return "wiped"

        return add, wipe


def serve_in_thread(app) -> tuple[object, int]:
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", timeout_keep_alive=60))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, port


def main(args) -> int:
    policy = LeakyPolicy(args.rate, args.seed, stall=2 * args.timeout)
    counts = Counts()
    with tempfile.TemporaryDirectory() as folder, LoopbackServer(function=policy) as loopback:
        model = OpenAIHTTPModel("openai/gpt-4o", base_url=loopback.url, api_key=SECRET)
        started = time.perf_counter()
        if args.through == "web":
            outcomes, problems, extra = asyncio.run(web_row(args, model, counts, folder))
        else:
            outcomes, problems, extra = asyncio.run(mcp_row(args, model, counts, folder))
        elapsed = time.perf_counter() - started
    kinds = collections.Counter(kind.split(":")[0] if kind.startswith("UNTYPED") else kind for kind in outcomes)
    report = {"through": args.through, "runs": len(outcomes), "store": args.store, "seconds": round(elapsed, 1),
              "requests": policy.requests, "faults_injected": dict(sorted(policy.faults.items())),
              "faults_total": sum(policy.faults.values()), "outcomes": dict(sorted(kinds.items())), **extra,
              "problems": dict(problems)}
    print(json.dumps(report, indent=2))
    return 1 if problems or len(outcomes) != args.runs else 0


def outcome_of(kind: str, text: str) -> str:
    """A run's end as the client saw it: "answer", a typed error's name, or UNTYPED ..."""
    if kind == "answer":
        return kind
    return kind if kind in typed_errors() else f"UNTYPED {kind}: {text[:200]}"


# ---- the web chat's API --------------------------------------------------------------------------------
async def web_row(args, model, counts: Counts, folder: str):
    import httpx

    from agentsilex.app.common import Store
    from agentsilex.app.web import create_app

    store = Store(_store_url(args.store, folder))
    add, _ = counts.tools()
    server, port = serve_in_thread(create_app(Agent(name="soak", model=model, tools=[add]), store=store, retries=3))
    extra: collections.Counter = collections.Counter()
    limits = httpx.Limits(max_connections=args.runs, max_keepalive_connections=args.runs)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=600, limits=limits) as client:
        results = await asyncio.gather(*(web_run(client, index, extra) for index in range(args.runs)))
    server.should_exit = True
    problems: collections.Counter = collections.Counter()
    outcomes = []
    for index, (kind, answer, shown, abandoned) in enumerate(results):
        dialogs = store.session(f"web-{TAG}-{index}").get_dialogs()
        found = check_one(index, kind, answer, dialogs, counts.added[index], abandoned=abandoned)
        problems.update(found)
        if abandoned and any(m["role"] == "tool" and m["content"] == INTERRUPTED for m in dialogs):
            extra["hung_up_calls_answered_interrupted"] += 1
        elif abandoned and counts.added[index] and not any(m["role"] == "tool" for m in dialogs):
            extra["hung_up_after_the_tool_ran_step_not_stored"] += 1
        if found and len(extra.setdefault("problem_runs", [])) < 5:  # what to look at
            extra["problem_runs"].append({"run": index, "outcome": kind, "hung_up": abandoned, "tool_ran":
                                          counts.added[index], "stored": [m["role"] for m in dialogs]})
        if SECRET in shown or SECRET in json.dumps(dialogs):
            problems["the model's key reached a client or the store"] += 1
        outcomes.append(kind)
    if any(session["id"].startswith("rebound-") for session in store.list()):
        problems["a request under a foreign Host created a session"] += 1
    for index in range(args.runs):  # a shared Redis or PostgreSQL keeps no trace of the soak
        store.delete(f"web-{TAG}-{index}")
    return outcomes, problems, dict(extra)


async def web_run(client, index: int, extra: collections.Counter) -> tuple[str, object, str, bool]:
    session_id = f"web-{TAG}-{index}"
    if index % 20 == 0:  # a page on a rebinding domain, before the real client
        refused = await client.post("/api/sessions", json={"id": f"rebound-{index}"}, headers={"host": "rebind.evil"})
        extra["foreign_host_refused_421" if refused.status_code == 421 else "foreign_host_answered"] += 1
    created = await client.post("/api/sessions", json={"id": session_id})
    assert created.status_code == 201, created.text
    hang_up, frames, shown = index % 10 == 5, [], ""
    async with client.stream("POST", f"/api/sessions/{session_id}/messages",
                             json={"content": f"add {index} {index * 7}"}) as response:
        if response.status_code != 200:  # refused before the answer started: the API's typed error (502 model_error...)
            body = (await response.aread()).decode()
            kind = json.loads(body).get("error", "?")
            typed = response.status_code < 500 or kind in ("model_error", *typed_errors())
            return (f"HTTP {response.status_code} {kind}" if typed else f"UNTYPED {kind}: {body[:200]}"), None, body, \
                False
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                shown += line
                frames.append(json.loads(line[6:]))
                if hang_up:
                    extra["clients_hung_up"] += 1
                    break
    last = frames[-1] if frames else {"type": "none"}
    if last["type"] == "final_result":
        return "answer", last["final_output"], shown, hang_up
    if last["type"] == "error":
        return outcome_of(last["error"], last["message"]), None, shown, hang_up
    return ("abandoned" if hang_up else f"UNTYPED ended with {last['type']}"), None, shown, hang_up


# ---- MCP serving -----------------------------------------------------------------------------------------
async def mcp_row(args, model, counts: Counts, folder: str):
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    from agentsilex.mcp import build_mcp_server

    import logging

    logging.getLogger("agentsilex.mcp").setLevel(logging.ERROR)  # each refused or failed call logs a warning
    add, wipe = counts.tools()
    sessions: list = []
    numbers = itertools.count()

    def runner():  # each call: a fresh stored session, kept to be checked afterwards
        session = make_session(args.store, folder, f"mcp-{TAG}-{next(numbers)}")
        sessions.append(session)
        return runner_for(session, args.timeout)

    served = build_mcp_server(Agent(name="soak", model=model, tools=[add]), wipe, runner=runner)
    server, port = serve_in_thread(served.streamable_http_app(streamable_http_path="/mcp", host="127.0.0.1"))
    clients = max(1, min(10, args.runs // 20))
    async with _sessions(clients, f"http://127.0.0.1:{port}/mcp", streamable_http_client, ClientSession) as opened:
        results = await asyncio.gather(*(mcp_call(opened[i % clients], i) for i in range(args.runs)))
    server.should_exit = True
    problems: collections.Counter = collections.Counter()
    by_index = {int(s.get_dialogs()[0]["content"].split()[1]): s.get_dialogs() for s in sessions if s.get_dialogs()}
    outcomes, gated, extra = [], 0, {}
    for index, (kind, answer, shown) in enumerate(results):
        if SECRET in shown:
            problems["the model's key reached a client"] += 1
        if index % 20 == 0:
            gated += kind == "MCPApprovalRequired"
            problems.update(["a served tool ran without approval"] if kind != "MCPApprovalRequired" else [])
            outcomes.append(kind)
            continue
        dialogs = by_index.get(index, [])
        found = check_one(index, kind, answer, dialogs, counts.added[index])
        problems.update(found)
        if found and len(extra.setdefault("problem_runs", [])) < 5:
            extra["problem_runs"].append({"run": index, "outcome": kind, "tool_ran": counts.added[index],
                                          "stored": [m["role"] for m in dialogs]})
        if SECRET in json.dumps(dialogs):
            problems["the model's key reached the store"] += 1
        outcomes.append(kind)
    if counts.wiped:
        problems["a tool that needs approval ran"] += counts.wiped
    for session in sessions:
        session.delete_session()
    return outcomes, problems, {"mcp_client_sessions": clients, "approval_refused": gated, **extra}


async def mcp_call(session, index: int) -> tuple[str, object, str]:
    if index % 20 == 0:
        result = await session.call_tool("wipe", {})
    else:
        result = await session.call_tool("soak", {"input": f"add {index} {index * 7}"})
    text = "".join(getattr(block, "text", "") for block in result.content)
    if not result.is_error:
        return "answer", text, text
    return outcome_of(text.split(":", 1)[0], text), None, text


class _sessions:
    """`count` MCP client sessions on one server, opened together and closed together."""

    def __init__(self, count: int, url: str, transport, session_class) -> None:
        self.count, self.url, self.transport, self.session_class = count, url, transport, session_class

    async def __aenter__(self) -> list:
        from contextlib import AsyncExitStack

        self.stack = AsyncExitStack()
        opened = []
        for _ in range(self.count):
            read, write = await self.stack.enter_async_context(self.transport(self.url))
            session = await self.stack.enter_async_context(self.session_class(read, write))
            await session.initialize()
            opened.append(session)
        return opened

    async def __aexit__(self, *exc_info) -> None:
        await self.stack.aclose()


def _store_url(store: str, folder: str) -> str:
    if store == "sqlite":
        return f"sqlite:///{os.path.join(folder, 'web.db')}"
    if store == "redis":
        return os.environ.get("AGENTSILEX_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
    return os.environ.get("AGENTSILEX_TEST_POSTGRES_URL",
                          "postgresql+psycopg://agentsilex:agentsilex@127.0.0.1:5432/agentsilex_test")
