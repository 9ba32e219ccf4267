"""Soak: 1,000 concurrent runs on stored sessions, with faults on 20% of the model requests.

    .venv/bin/python bench/soak.py                       # 1,000 async runs + 100 sync ones, SQLite, native HTTP
    .venv/bin/python bench/soak.py --runs 200 --store redis --path litellm

The loopback server (in this process) answers each run's two requests -- call add(a, b), then "sum=<a+b>" --
and on 20% of all requests plays a fault instead, chosen evenly: HTTP 429 (Retry-After 0), HTTP 500, a stall
longer than the model timeout, a stream or body cut off, a malformed 200 body (HTML, empty, JSON without
choices, an SSE error event, a stream with no finish, an event that is not JSON). Half the runs stream.

Checked for every run: it ends with the right answer or a typed AgentsilexError (anything else is a failure);
its session holds a valid history (every tool call answered once, no empty or partial message) and nothing
twice (one prompt, the tool ran at most once and only if its result is stored).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import resource
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from agentsilex import Agent, Runner, tool  # noqa: E402
from agentsilex.errors import AgentsilexError  # noqa: E402
from agentsilex.history import pairs_intact  # noqa: E402
from agentsilex.messages import INTERRUPTED  # noqa: E402
from agentsilex.messages import check_messages  # noqa: E402
from agentsilex.models.retry import RetryPolicy  # noqa: E402
from agentsilex.testing import Cut, Fail, LoopbackServer, Malformed, Stall, call  # noqa: E402

MALFORMED = ["html", "empty", "json_without_choices", "sse_error", "unfinished", "bad_json"]
FAULTS = ["429", "500", "stall", "cut", "malformed"]


class Policy:
    """The server's brain: the agent's two replies, and a fault on `rate` of the requests (seeded)."""

    def __init__(self, rate: float, seed: int, stall: float) -> None:
        self.rate, self.stall, self.random, self.lock = rate, stall, random.Random(seed), threading.Lock()
        self.requests = 0
        self.faults: collections.Counter = collections.Counter()

    def __call__(self, messages: list[dict], tools: list[dict]):
        prompt = next(m["content"] for m in messages if m["role"] == "user")
        a, b = (int(x) for x in prompt.split()[-2:])
        reply = f"sum={a + b}" if any(m["role"] == "tool" for m in messages) else call("add", a=a, b=b)
        with self.lock:
            self.requests += 1
            if self.random.random() >= self.rate:
                return reply
            kind = self.random.choice(FAULTS)
            detail = self.random.choice(MALFORMED) if kind == "malformed" else kind
            self.faults[f"{kind}:{detail}" if kind == "malformed" else kind] += 1
        if kind == "429":
            return Fail(429, "slow down", {"Retry-After": "0"})
        if kind == "500":
            return Fail(500, "internal error")
        if kind == "stall":
            return Stall(self.stall)
        if kind == "cut":
            return Cut(reply)
        return Malformed(detail, reply)


TAG = uuid.uuid4().hex[:8]  # this soak's sessions, apart from any earlier one's in a shared database
ran: collections.Counter = collections.Counter()  # session id -> times the tool ran
ran_lock = threading.Lock()


def make_session(store: str, folder: str, session_id: str):
    if store == "sqlite":
        from agentsilex.stores import SQLiteSession

        return SQLiteSession(session_id, os.path.join(folder, "soak.db"))
    if store == "redis":
        from agentsilex.stores import RedisSession

        return RedisSession(session_id, url=os.environ.get("AGENTSILEX_TEST_REDIS_URL", "redis://127.0.0.1:6379/14"),
                            prefix=f"soak-{os.getpid()}")
    from agentsilex.stores import SQLAlchemySession

    global _engine
    if _engine is None:  # each running session holds a connection for its advisory lock: size the pool for them
        import sqlalchemy

        pool = dict(pool_size=40, max_overflow=0, pool_timeout=60) if POOL is None else dict(  # --pool N: N + N
            pool_size=POOL, max_overflow=POOL, pool_timeout=120)  # async runs wait their turn at the gate
        _engine = sqlalchemy.create_engine(os.environ.get(
            "AGENTSILEX_TEST_POSTGRES_URL", "postgresql+psycopg://agentsilex:agentsilex@127.0.0.1:5432/agentsilex_test"),
            **pool)
    return SQLAlchemySession(session_id, engine=_engine)


_engine = None
POOL = None  # --pool: a small pool (pool_size = max_overflow = POOL) for many concurrent async runs


def agent_for(model, session_id: str) -> Agent:
    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        with ran_lock:
            ran[session_id] += 1
        return a + b

    return Agent(name="soak", model=model, tools=[add])


def runner_for(session, timeout: float) -> Runner:
    return Runner(session, model_timeout=timeout, stream_idle_timeout=timeout,
                  retry=RetryPolicy(max_retries=3, initial_delay=0.05, max_delay=0.5))


async def one_async(index, model, args, folder, outcomes):
    session_id = f"run-{TAG}-{index}"
    session = make_session(args.store, folder, session_id)
    prompt = f"add {index} {index * 7}"
    runner = runner_for(session, args.timeout)
    try:
        if index % 2:
            stream = runner.run_stream_async(agent_for(model, session_id), prompt)
            async for _ in stream:
                pass
            result = stream.result
        else:
            result = await runner.run_async(agent_for(model, session_id), prompt)
        outcomes[session_id] = ("answer", result.final_output, session)
    except AgentsilexError as exc:
        outcomes[session_id] = (type(exc).__name__, None, session)
    except Exception as exc:  # an untyped error: the soak fails
        outcomes[session_id] = (f"UNTYPED {type(exc).__name__}: {exc}", None, session)


def one_sync(index, model, args, folder, outcomes):
    session_id = f"run-{TAG}-{index}"
    session = make_session(args.store, folder, session_id)
    prompt = f"add {index} {index * 7}"
    runner = runner_for(session, args.timeout)
    try:
        if index % 2:
            stream = runner.run_stream(agent_for(model, session_id), prompt)
            for _ in stream:
                pass
            result = stream.result
        else:
            result = runner.run(agent_for(model, session_id), prompt)
        outcomes[session_id] = ("answer", result.final_output, session)
    except AgentsilexError as exc:
        outcomes[session_id] = (type(exc).__name__, None, session)
    except Exception as exc:
        outcomes[session_id] = (f"UNTYPED {type(exc).__name__}: {exc}", None, session)


def check(outcomes: dict) -> collections.Counter:
    """Every session: a valid history, nothing twice, the right answer when there is one."""
    problems: collections.Counter = collections.Counter()
    for session_id, (kind, answer, session) in outcomes.items():
        index = int(session_id.split("-")[2])
        problems.update(check_one(index, kind, answer, session.get_dialogs(), ran[session_id]))
    return problems


def check_one(index: int, kind: str, answer, dialogs: list[dict], times_ran: int, *, abandoned: bool = False) -> list[str]:
    """The problems of one run's session (`abandoned`: its client hung up mid-answer, so any end is fine)."""
    problems = []
    try:
        check_messages(dialogs)
    except AgentsilexError:
        problems.append("invalid message")
    if not pairs_intact(dialogs):
        problems.append("tool call without exactly one answer")
    if [m["role"] for m in dialogs].count("user") != 1:
        problems.append("prompt stored twice or not at all")
    # A run stopped mid-step answers its calls "interrupted" (the tool may or may not have run): not a result.
    tool_results = [m for m in dialogs if m["role"] == "tool" and m["content"] != INTERRUPTED]
    # A run abandoned mid-answer may stop after its tool ran and before its step was stored (at most once, the
    # documented limit): only running twice, or a result stored without the tool running, is a problem then.
    unstored_ok = abandoned and times_ran == 1 and not tool_results
    if (times_ran != len(tool_results) and not unstored_ok) or len(tool_results) > 1:
        problems.append("tool ran twice, or ran without its result stored")
    if any(m["role"] == "assistant" and not m.get("content") and not m.get("tool_calls") for m in dialogs):
        problems.append("empty answer stored")
    if kind == "answer":
        if answer != f"sum={index * 8}" or dialogs[-1] != {"role": "assistant", "content": answer}:
            problems.append("wrong or unstored answer")
    elif kind.startswith("UNTYPED"):
        problems.append("untyped error")
    elif not abandoned and dialogs and dialogs[-1]["role"] == "assistant" and dialogs[-1].get("content"):
        problems.append("failed run with a final answer stored")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="concurrent async runs")
    parser.add_argument("--sync-runs", type=int, default=100, help="sync runs, on 50 threads")
    parser.add_argument("--store", choices=["sqlite", "redis", "postgres"], default="sqlite")
    parser.add_argument("--pool", type=int, default=None, help="postgres: pool_size = max_overflow = POOL (a small "
                        "pool under many async runs; default: one connection per run, 40)")
    parser.add_argument("--path", choices=["native", "litellm"], default="native")
    parser.add_argument("--rate", type=float, default=0.2)
    parser.add_argument("--timeout", type=float, default=5.0, help="model timeouts; stalls last 2x this")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--through", choices=["runner", "web", "mcp"], default="runner",
                        help="call the Runner directly, or go through the web chat's API or MCP serving "
                             "(bench/soak_doors.py; --runs concurrent clients, --sync-runs ignored)")
    args = parser.parse_args()
    global POOL
    POOL = args.pool
    if args.through != "runner":
        from soak_doors import main as through_a_door

        sys.exit(through_a_door(args))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))  # a lock file + a socket per run
    policy = Policy(args.rate, args.seed, stall=2 * args.timeout)
    outcomes: dict = {}
    with tempfile.TemporaryDirectory() as folder, LoopbackServer(function=policy) as server:
        model = server.openai_model() if args.path == "native" else server.litellm_model()
        started = time.perf_counter()

        async def all_async():
            await asyncio.gather(*(one_async(i, model, args, folder, outcomes) for i in range(args.runs)))

        asyncio.run(all_async())
        with ThreadPoolExecutor(50) as pool:
            list(pool.map(lambda i: one_sync(i, model, args, folder, outcomes),
                          range(args.runs, args.runs + args.sync_runs)))
        elapsed = time.perf_counter() - started
        problems = check(outcomes)
        for _, _, session in outcomes.values():
            if hasattr(session, "delete_session"):
                session.delete_session()
    kinds = collections.Counter(kind.split(":")[0] if kind.startswith("UNTYPED") else kind
                                for kind, _, _ in outcomes.values())
    report = {"runs": len(outcomes), "store": args.store, "path": args.path, "seconds": round(elapsed, 1),
              **({"pool": f"{POOL} + {POOL}"} if POOL is not None and args.store == "postgres" else {}),
              "requests": policy.requests, "faults_injected": dict(sorted(policy.faults.items())),
              "faults_total": sum(policy.faults.values()), "outcomes": dict(sorted(kinds.items())),
              "problems": dict(problems)}
    print(json.dumps(report, indent=2))
    sys.exit(1 if problems or len(outcomes) != args.runs + args.sync_runs else 0)


if __name__ == "__main__":
    main()
