"""Shared rate limits, measured: 4 processes x 200 runs against a server that enforces the limit (429 over it).

    .venv/bin/python bench/rate_limits.py                 # the three rows of docs/economics.md (~2 minutes)
    .venv/bin/python bench/rate_limits.py --rpm 600 --processes 2 --runs 50
    .venv/bin/python bench/rate_limits.py --overhead      # what a turn costs when nobody waits

One run is the peer-bench workload (bench/policy.py): the model calls add(a=1, b=1), then answers -- two requests.
The loopback server (agentsilex.testing.LoopbackServer(rate_limit=...)) runs in this process and enforces rpm and
tpm per second and per minute; each worker is a fresh process running its runs one after another, with:

- none:    no RateLimits (each 429 is retried on its own: RetryPolicy, honouring Retry-After);
- local:   RateLimits per process (store=None): each process keeps to the limit, so together they pass it;
- shared:  RateLimits(store=redis://...): one bucket for every process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORKER = """
import json, sys, time
from agentsilex import Agent, RateLimits, Runner, Session, tool
from agentsilex.models.openai_http import OpenAIHTTPModel
url, kind, store, namespace, runs, rpm, tpm = sys.argv[1:8]

@tool
def add(a: int, b: int) -> int:
    '''Add two numbers.'''
    return a + b

limits = {"gpt-4o-mini": {"rpm": float(rpm), "tpm": float(tpm)}}
rate_limits = None if kind == "none" else RateLimits(limits, store=store if kind == "shared" else None,
                                                     namespace=namespace)
model = OpenAIHTTPModel("gpt-4o-mini", base_url=url, api_key="sk-bench")
agent = Agent(name="bench", model=model, tools=[add])
ok = failed = 0
started = time.monotonic()
for _ in range(int(runs)):
    try:
        ok += Runner(Session(), rate_limits=rate_limits).run(agent, "add 1 and 1").final_output == "done: 2"
    except Exception:
        failed += 1
print(json.dumps({"ok": ok, "failed": failed, "seconds": time.monotonic() - started}))
"""


def row(kind: str, args: argparse.Namespace) -> dict:
    from agentsilex.testing import LoopbackServer

    from policy import reply  # bench/policy.py, beside this file

    namespace = f"bench-{uuid.uuid4().hex}"
    with LoopbackServer(function=reply, rate_limit={"rpm": args.rpm, "tpm": args.tpm}) as server:
        started = time.monotonic()
        procs = [subprocess.Popen([sys.executable, "-c", WORKER, server.url, kind, args.redis, namespace,
                                   str(args.runs), str(args.rpm), str(args.tpm)], stdout=subprocess.PIPE, text=True,
                                  env={**os.environ, "PYTHONPATH": str(ROOT / "src")}) for _ in range(args.processes)]
        outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
        wall = time.monotonic() - started
        stats = server.rate_limit.stats()
    return {"kind": kind, "runs_ok": sum(o["ok"] for o in outs), "runs_failed": sum(o["failed"] for o in outs),
            "requests": stats["requests"] + stats["refused"], "http_429": stats["refused"], "wall_s": round(wall, 1),
            "peak_requests_60s": stats["peak_requests_60s"], "peak_tokens_60s": stats["peak_tokens_60s"],
            "peak_requests_1s": stats["peak_requests_1s"], "tokens": stats["tokens"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpm", type=float, default=2400)
    parser.add_argument("--tpm", type=float, default=400_000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--redis", default=os.environ.get("AGENTSILEX_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    parser.add_argument("--only", choices=["none", "local", "shared"], action="append")
    args = parser.parse_args()
    print(f"{args.processes} processes x {args.runs} runs (2 requests each); server limit rpm={args.rpm:g}, "
          f"tpm={args.tpm:g}, enforced per second and per minute\n")
    print("| RateLimits | runs ok | runs failed | requests sent | 429s | wall time | busiest 60 s: requests / tokens "
          "| busiest 1 s |")
    print("|---|---|---|---|---|---|---|---|")
    for kind in args.only or ["none", "local", "shared"]:
        r = row(kind, args)
        print(f"| {kind} | {r['runs_ok']} | {r['runs_failed']} | {r['requests']} | {r['http_429']} | {r['wall_s']} s "
              f"| {r['peak_requests_60s']} / {r['peak_tokens_60s']} | {r['peak_requests_1s']} |", flush=True)


def overhead(runs: int = 2000) -> None:
    """What taking a turn costs when nobody has to wait: scripted model (no HTTP), in process and through Redis."""
    import statistics

    from agentsilex import Agent, RateLimits, Runner, Session
    from agentsilex.testing import FunctionModel

    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default=os.environ.get("AGENTSILEX_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    args, _ = parser.parse_known_args()
    agent = Agent(name="a", model=FunctionModel(lambda messages, tools: "ok", name="gpt-4o-mini"))
    huge = {"gpt-4o-mini": {"rpm": 1e9, "tpm": 1e12}}
    setups = {"no RateLimits": None, "RateLimits, in process": RateLimits(huge),
              "RateLimits, Redis": RateLimits(huge, store=args.redis, namespace=f"bench-{uuid.uuid4().hex}")}
    print("| per request (scripted model, nobody waits) | us |\n|---|---|")
    for label, limits in setups.items():
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(runs // 5):
                Runner(Session(), rate_limits=limits).run(agent, "hi")
            samples.append((time.perf_counter() - started) / (runs // 5) * 1e6)
        print(f"| {label} | {statistics.median(samples):.0f} |", flush=True)


if __name__ == "__main__":
    overhead() if "--overhead" in sys.argv else main()
