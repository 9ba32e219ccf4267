"""What tracing costs per model request: off (the default), on with an SDK provider that drops spans, and on
with an in-memory exporter. Loop only (scripted model, no HTTP), so the tracing share is not hidden by I/O.

    .venv/bin/python bench/tracing.py [runs]

Each condition runs in rounds, interleaved, and the median round is reported, as a ratio to "off" measured in
the same process. One run = two model requests and one tool call (the peer-bench workload).
"""

from __future__ import annotations

import statistics
import sys
import time

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentsilex import Agent, Runner, Session, tool
from agentsilex.testing import ScriptedModel, call
from agentsilex.tracing import configure_tracing, reset_tracing


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def rounds(runs: int) -> float:
    """Seconds per model request over `runs` runs."""
    script = [call("add", a=1, b=1), "done: 2"] * runs
    agent = Agent(name="bench", model=ScriptedModel(script), tools=[add])
    started = time.perf_counter()
    for _ in range(runs):
        Runner(Session()).run(agent, "1+1?")
    return (time.perf_counter() - started) / (2 * runs)


def off() -> None:
    reset_tracing()


def dropped() -> None:
    configure_tracing(tracer_provider=TracerProvider())  # spans are made, then go nowhere


def in_memory() -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    configure_tracing(tracer_provider=provider)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    conditions = {"off (default)": off, "on, spans dropped": dropped, "on, in-memory exporter": in_memory}
    times: dict[str, list[float]] = {name: [] for name in conditions}
    for setup in conditions.values():  # warm up every path once
        setup()
        rounds(20)
    for _ in range(7):
        for name, setup in conditions.items():
            setup()
            times[name].append(rounds(runs))
    reset_tracing()
    base = statistics.median(times["off (default)"])
    print("| tracing | µs per model request (median of 7 rounds) | ratio to off |")
    print("| --- | --- | --- |")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median * 1e6:.1f} | {median / base:.2f}x |")


if __name__ == "__main__":
    main()
