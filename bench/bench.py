"""agentsilex benchmarks against the loopback server (run on demand, not in the test suite).

    .venv/bin/python bench/bench.py all            # everything, prints a markdown report
    .venv/bin/python bench/bench.py import|overhead|concurrency|ttft

The server runs in its own process pinned to CPU 0; every measured case runs in a fresh process pinned to
CPU 1. One run = the peer-bench workload: the model calls add(a=1, b=1), the tool runs, the model answers
"done: 2" -- two LLM requests. Floors make the same two requests with raw httpx and no framework.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable
ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "OPENAI_API_KEY": "sk-bench",
       "PYTHONPATH": ROOT + os.pathsep + os.path.join(ROOT, "src")}
PIN_SERVER, PIN_CLIENT = (["taskset", "-c", "0"], ["taskset", "-c", "1"]) if os.cpu_count() and os.cpu_count() >= 2 else ([], [])


class Server:
    """The loopback server in its own process, answering with bench.policy:reply."""

    def __init__(self, latency: float = 0.0) -> None:
        self.proc = subprocess.Popen([*PIN_SERVER, PY, "-W", "ignore::RuntimeWarning", "-m", "agentsilex.testing.server", "--port", "0",
                                      "--function", "bench.policy:reply", "--latency", str(latency)],
                                     stdout=subprocess.PIPE, text=True, env=ENV, cwd=ROOT)
        self.url = self.proc.stdout.readline().split(" on ")[-1].strip()  # the port the OS picked

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait()


def case(name: str, url: str, **params: object) -> dict:
    """Run one measured case in a fresh, pinned process (bench/cases.py); return its JSON result."""
    out = subprocess.run([*PIN_CLIENT, PY, os.path.join(ROOT, "bench", "cases.py"), name, url, json.dumps(params)],
                         capture_output=True, text=True, env={**ENV, "OPENAI_BASE_URL": url, "OPENAI_API_BASE": url},
                         cwd=ROOT, timeout=900)
    if out.returncode:
        raise SystemExit(f"case {name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_import(repeats: int = 15) -> list[str]:
    statements = {"import agentsilex": "import agentsilex", "from agentsilex import Agent, Runner, Session, tool":
                  "from agentsilex import Agent, Runner, Session, tool", "import pydantic": "import pydantic",
                  "from pydantic import BaseModel": "from pydantic import BaseModel", "import litellm": "import litellm"}
    times: dict[str, list[float]] = {key: [] for key in statements}
    for index in range(repeats):
        for key, statement in statements.items():
            if key == "import litellm" and index >= 3:
                continue
            code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
            out = subprocess.run([*PIN_CLIENT, PY, "-c", code], capture_output=True, text=True, env=ENV, cwd=ROOT)
            times[key].append(float(out.stdout.strip().splitlines()[-1]))
    rows = ["| import (fresh process, median) | seconds |", "|---|---|"]
    rows += [f"| `{key}` | {statistics.median(values):.3f} |" for key, values in times.items()]
    return rows


def bench_overhead(runs: int = 300) -> list[str]:
    results = {}
    with Server(0.0) as server:
        for name in ("floor_sync", "litellm_sync", "agentsilex_sync", "native_sync", "floor_async", "litellm_async",
                     "agentsilex_async", "floor_aiohttp", "native_async", "agentsilex_scripted"):
            results[name] = case(name, server.url, runs=runs)
    rows = ["| case (2 LLM requests per run, 0 ms latency) | ms / run | ms / LLM request | over floor, ms / request |",
            "|---|---|---|---|"]
    for name, result in results.items():
        # each row against the floor of the same HTTP client: httpx sync, httpx async, aiohttp (native async)
        floor = results["floor_aiohttp" if name == "native_async" else
                        "floor_async" if "async" in name else "floor_sync"]["ms_per_run"]
        over = "" if name.startswith("floor") or name.endswith("scripted") else f"{(result['ms_per_run'] - floor) / 2:.3f}"
        rows.append(f"| {name} | {result['ms_per_run']:.3f} | {result['ms_per_run'] / 2:.3f} | {over} |")
    return rows


def bench_concurrency(sizes: tuple[int, ...] = (200, 1000)) -> list[str]:
    rows = ["| case (100 ms server latency) | runs | wall s | ideal s | wall / ideal | failed | CPU ms / LLM request "
            "| KiB / run |", "|---|---|---|---|---|---|---|---|"]
    with Server(0.1) as server:
        for n in sizes:
            for name in ("floor_aiohttp_conc", "floor_async_conc", "agentsilex_async_conc", "native_async_conc",
                         "agentsilex_sync_conc", "native_sync_conc"):
                r = case(name, server.url, n=n)
                rows.append(f"| {name} | {n} | {r['wall_s']:.3f} | 0.200 | {r['wall_s'] / 0.2:.1f}x | {r['failed']} | "
                            f"{r['cpu_ms_per_request']:.2f} | {r['kib_per_run']:.1f} |")
    return rows


def bench_ttft(runs: int = 100) -> list[str]:
    rows = ["| case (streamed run, 0 ms latency) | time to first text delta, ms (median) | whole run, ms |", "|---|---|---|"]
    with Server(0.0) as server:
        for name in ("floor_stream", "agentsilex_stream", "agentsilex_stream_async", "native_stream",
                     "native_stream_async"):
            r = case(name, server.url, runs=runs)
            rows.append(f"| {name} | {r['ttft_ms']:.3f} | {r['total_ms']:.3f} |")
    return rows


def main() -> None:
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    sections = {"import": bench_import, "overhead": bench_overhead, "concurrency": bench_concurrency, "ttft": bench_ttft}
    for name, function in sections.items():
        if which in (name, "all"):
            started = time.perf_counter()
            print(f"\n### {name}\n")
            print("\n".join(function()))
            print(f"\n({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
