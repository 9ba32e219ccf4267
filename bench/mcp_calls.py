"""MCP tool calls: per-call overhead on the persistent session vs a server spawned per call (agentsilex 1.0's
way), and 100 concurrent calls on one session.

    .venv/bin/python bench/mcp_calls.py            # ~1 min
    .venv/bin/python bench/mcp_calls.py --calls 1000 --spawns 10

Server: examples/mcp_servers/calculator.py (official SDK, stdio), tool `add`. Every answer is checked.
Rows (ms per call; the cases take turns, median of --rounds batches of --calls calls each):
- sdk_floor: the MCP SDK's own `await session.call_tool(...)` on the same connection and loop, no agentsilex;
- persistent_sync: `server.call(...)` from sync code (the background loop thread, a concurrent future);
- persistent_async: `await server.call_async(...)` from another event loop (what `run_async` does);
- tool_in_sync_run: the MCP Tool invoked as `Runner.run` invokes it (an async tool: the sync driver runs each
  batch on a short-lived event loop; the same cost for a local async tool is printed for attribution);
- spawn_per_call: start the server, initialize, call, stop -- for every call, as agentsilex 1.0 did.
Overhead = row - sdk_floor, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

from agentsilex.engine.tool_calls import Limits, run_tools_sync  # noqa: E402
from agentsilex.engine.capability import ToolRun  # noqa: E402
from agentsilex import Tool  # noqa: E402
from agentsilex.mcp import MCPServer, _background  # noqa: E402

CONFIG = {"command": sys.executable, "args": [str(ROOT / "examples" / "mcp_servers" / "calculator.py")]}
PARAMS = StdioServerParameters(command=CONFIG["command"], args=CONFIG["args"])


def interleaved_ms(batches: dict, calls: int, rounds: int) -> dict[str, float]:
    """Median over `rounds` of the mean ms per call of each batch; the cases take turns within each round, so
    a change in machine load hits them all alike."""
    for batch in batches.values():
        batch(min(20, calls))  # warm-up
    times: dict[str, list[float]] = {name: [] for name in batches}
    for _ in range(rounds):
        for name, batch in batches.items():
            start = time.perf_counter()
            batch(calls)
            times[name].append((time.perf_counter() - start) * 1000 / calls)
    return {name: statistics.median(values) for name, values in times.items()}


def check(answer: object, n: int) -> None:
    if answer != str(n + 1):
        raise AssertionError(f"add({n}, 1) gave {answer!r}")


def spawn_per_call(calls: int) -> float:
    async def one(i: int) -> str:
        async with stdio_client(PARAMS) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return (await session.call_tool("add", {"a": i, "b": 1})).content[0].text

    start = time.perf_counter()
    for i in range(calls):
        check(asyncio.run(one(i)), i)
    return (time.perf_counter() - start) * 1000 / calls


def concurrent(server: MCPServer, calls: int) -> tuple[float, int]:
    async def main() -> tuple[float, int]:
        start = time.perf_counter()
        answers = await asyncio.gather(*(server.call_async("add", {"a": i, "b": 1}) for i in range(calls)),
                                       return_exceptions=True)
        elapsed = time.perf_counter() - start
        failed = sum(1 for i, answer in enumerate(answers) if answer != str(i + 1))
        return elapsed * 1000, failed

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--spawns", type=int, default=5)
    parser.add_argument("--concurrent", type=int, default=100)
    args = parser.parse_args()
    with MCPServer(CONFIG) as server:
        add = next(item for item in server.tools() if item.name == "add")
        session = _background.run_sync(server._connect())

        def floor_batch(n: int) -> None:
            async def run() -> None:  # the SDK alone, on the same connection and loop: no agentsilex per call
                for i in range(n):
                    check((await session.call_tool("add", {"a": i, "b": 1})).content[0].text, i)
            _background.run_sync(run())

        def sync_batch(n: int) -> None:
            for i in range(n):
                check(server.call("add", {"a": i, "b": 1}), i)

        def async_batch(n: int) -> None:
            async def run() -> None:
                for i in range(n):
                    check(await server.call_async("add", {"a": i, "b": 1}), i)
            asyncio.run(run())

        def runner_batch(n: int, tool: Tool = add) -> None:
            limits = Limits()
            for i in range(n):
                (outcome,) = run_tools_sync([ToolRun(f"call_{i}", tool, {"a": i, "b": 1}, {})], limits)
                check(outcome.value, i)

        async def local_add(a: int, b: int) -> str:
            return str(a + b)

        local = Tool.from_schema("add", "", add.parameters, local_add)
        rows = interleaved_ms({"sdk_floor": floor_batch, "persistent_sync": sync_batch,
                               "persistent_async": async_batch, "tool_in_sync_run": runner_batch,
                               "local_async_tool_in_sync_run": lambda n: runner_batch(n, local)},
                              args.calls, args.rounds)
        core_ms = rows.pop("local_async_tool_in_sync_run")
        sequential_ms = rows["persistent_async"] * args.concurrent
        wall_ms, failed = concurrent(server, args.concurrent)

        async def floor_concurrent() -> float:
            start = time.perf_counter()
            results = await asyncio.gather(*(session.call_tool("add", {"a": i, "b": 1})
                                             for i in range(args.concurrent)))
            for i, result in enumerate(results):
                check(result.content[0].text, i)
            return (time.perf_counter() - start) * 1000

        floor_wall_ms = _background.run_sync(floor_concurrent())
    rows["spawn_per_call"] = spawn_per_call(args.spawns)

    floor = rows["sdk_floor"]
    print("| case | ms / call | over sdk_floor, ms / call |\n|---|---|---|")
    for name, value in rows.items():
        extra = "" if name == "sdk_floor" else f"{value - floor:+.3f}"
        print(f"| {name} | {value:.3f} | {extra} |")
    share = rows["tool_in_sync_run"] - floor - core_ms
    print(f"\n(tool_in_sync_run includes {core_ms:.3f} ms / call that the sync driver spends on any async tool "
          f"without MCP, its event loop per batch: MCP's share there is {share:+.3f} ms)")
    print(f"spawn_per_call / persistent_sync: {rows['spawn_per_call'] / rows['persistent_sync']:.0f}x")
    print(f"{args.concurrent} concurrent calls on one session: {wall_ms:.0f} ms wall "
          f"({wall_ms / args.concurrent:.2f} ms / call; {args.concurrent} sequential ~ {sequential_ms:.0f} ms), "
          f"{failed} failed; the SDK alone, gathered on its own loop: {floor_wall_ms:.0f} ms wall")


if __name__ == "__main__":
    main()
