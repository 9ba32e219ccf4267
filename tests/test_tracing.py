"""Tracing: the span tree of a run per the GenAI semantic conventions, in all four modes, asserted with the
SDK's in-memory exporter. The end-to-end test against a real receiver is in test_tracing_receiver.py."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time

import pytest
from conftest import run_in_mode

from agentsilex import Agent, Runner, Session, tool
from agentsilex.testing import Fail, LoopbackServer, ScriptedModel, call

sdk = pytest.importorskip("opentelemetry.sdk.trace", reason="needs the tracing extra")
from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from agentsilex.tracing import configure_tracing, reset_tracing  # noqa: E402


@pytest.fixture
def spans():
    """Configure tracing into memory; yields a function returning the finished spans."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    configure_tracing(tracer_provider=provider, meter_provider=MeterProvider(metric_readers=[reader]))
    finished = lambda: list(exporter.get_finished_spans())  # noqa: E731
    finished.reader = reader  # type: ignore[attr-defined]
    yield finished
    reset_tracing()


def tree(spans: list) -> list[str]:
    """The spans as indented names, children in start order: easy to compare as a whole."""
    by_parent: dict = {}
    for span in spans:
        parent = span.parent.span_id if span.parent else None
        by_parent.setdefault(parent, []).append(span)
    lines: list[str] = []

    def walk(parent, depth):
        for span in sorted(by_parent.get(parent, []), key=lambda s: s.start_time):
            lines.append("  " * depth + span.name)
            walk(span.context.span_id, depth + 1)

    walk(None, 0)
    return lines


def named(spans: list, name: str):
    found = [s for s in spans if s.name == name]
    assert found, f"no span {name!r} in {[s.name for s in spans]}"
    return found[0]


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@tool
def explode(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(f"boom: {reason}")


@tool
def slow(text: str) -> str:
    """Sleep a little, then echo (sync, so it runs on the pool when parallel)."""
    time.sleep(0.3)
    return text


def test_tool_run_tree_in_every_mode(spans, mode):
    model = ScriptedModel([call("add", a=2, b=3), "five"])
    agent = Agent(name="calc", model=model, tools=[add])
    session = Session()
    result, _ = run_in_mode(Runner(session), agent, "2+3?", mode)
    assert result.final_output == "five"
    got = spans()
    assert tree(got) == ["invoke_workflow calc", "  invoke_agent calc", "    chat scripted",
                         "    execute_tool add", "    chat scripted"]
    agent_span = named(got, "invoke_agent calc")
    assert agent_span.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert agent_span.attributes["gen_ai.agent.name"] == "calc"
    chat = named(got, "chat scripted")
    assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert chat.attributes["gen_ai.request.model"] == "scripted"
    assert chat.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert "gen_ai.usage.input_tokens" in chat.attributes
    tool_span = named(got, "execute_tool add")
    assert tool_span.attributes["gen_ai.tool.name"] == "add"
    assert tool_span.attributes["gen_ai.tool.call.id"] == result.function_calls[0].call_id
    assert tool_span.attributes["gen_ai.tool.type"] == "function"
    assert len({s.context.trace_id for s in got}) == 1


def test_handoff_starts_the_next_agents_span(spans, mode):
    billing = Agent(name="billing", model=ScriptedModel(["refund done"]))
    triage = Agent(name="triage", model=ScriptedModel([call("transfer_to_billing")]), handoffs=[billing])
    result, _ = run_in_mode(Runner(Session()), triage, "refund please", mode)
    assert result.final_output == "refund done"
    got = spans()
    assert tree(got) == ["invoke_workflow triage", "  invoke_agent triage", "    chat scripted",
                         "  invoke_agent billing", "    chat scripted"]
    handoff = [e for e in named(got, "invoke_agent triage").events if e.name == "agentsilex.handoff"]
    assert handoff[0].attributes["agentsilex.handoff.to"] == "billing"


def test_agent_as_tool_nests_under_its_tool_call(spans, mode):
    researcher = Agent(name="researcher", model=ScriptedModel([call("add", a=1, b=1), "two"]), tools=[add])
    boss = Agent(name="boss", model=ScriptedModel([call("research", input="1+1"), "it is two"]),
                 tools=[researcher.as_tool(tool_name="research", tool_description="Research a question.")])
    run_in_mode(Runner(Session()), boss, "what is 1+1?", mode)
    got = spans()
    assert tree(got) == ["invoke_workflow boss", "  invoke_agent boss", "    chat scripted",
                         "    execute_tool research", "      invoke_agent researcher", "        chat scripted",
                         "        execute_tool add", "        chat scripted", "    chat scripted"]
    assert named(got, "execute_tool research").attributes["gen_ai.tool.type"] == "agent"


def test_parallel_tool_calls_are_siblings_with_their_own_time(spans, mode):
    model = ScriptedModel([[call("slow", text="a"), call("slow", text="b"), call("explode", reason="x")], "ok"])
    agent = Agent(name="par", model=model, tools=[slow, explode])
    run_in_mode(Runner(Session()), agent, "go", mode)
    got = spans()
    tools = [s for s in got if s.name.startswith("execute_tool")]
    assert len(tools) == 3 and len({s.parent.span_id for s in tools}) == 1
    failed = named(got, "execute_tool explode")
    assert failed.attributes["error.type"] == "RuntimeError"
    assert failed.status.status_code.name == "ERROR"
    slow_spans = [s for s in tools if s.name == "execute_tool slow"]
    # Each call is timed by itself, not as the whole batch: the failing call ends long before the slow ones.
    assert all((s.end_time - s.start_time) / 1e9 >= 0.25 for s in slow_spans)
    assert failed.end_time < min(s.end_time for s in slow_spans)


def test_retries_and_fallbacks_are_visible(spans, mode):
    primary = ScriptedModel([Fail(500), Fail(503)])
    backup = ScriptedModel(["from backup"], name="backup-model")
    agent = Agent(name="r", model=primary, fallback_models=[backup])
    from agentsilex import RetryPolicy

    result, _ = run_in_mode(Runner(Session(), retry=RetryPolicy(max_retries=1, initial_delay=0, max_delay=0)),
                            agent, "hi", mode)
    assert result.final_output == "from backup"
    chat = [s for s in spans() if s.name.startswith("chat")]
    assert len(chat) == 1
    retries = [e for e in chat[0].events if e.name == "agentsilex.retry"]
    assert [e.attributes["error.type"] for e in retries] == ["500", "503"]
    assert retries[-1].attributes["agentsilex.fallback.model"] == "backup-model"
    assert chat[0].attributes["agentsilex.fallback.model"] == "backup-model"


def test_a_failing_run_marks_its_spans(spans):
    agent = Agent(name="f", model=ScriptedModel([Fail(401)]))
    with pytest.raises(Exception):
        Runner(Session()).run(agent, "hi")
    got = spans()
    for name in ("invoke_workflow f", "invoke_agent f", "chat scripted"):
        assert named(got, name).status.status_code.name == "ERROR"
    assert named(got, "chat scripted").attributes["error.type"] == "401"


def test_conversation_id_is_the_session_id(spans, tmp_path):
    from agentsilex.stores import SQLiteSession

    session = SQLiteSession("customer-42", str(tmp_path / "s.db"))
    Runner(session).run(Agent(name="a", model=ScriptedModel(["hi"])), "hello")
    assert {s.attributes.get("gen_ai.conversation.id") for s in spans()} == {"customer-42"}


def test_contents_only_when_asked_and_never_keys(spans, monkeypatch):
    secret = "sk-live-abcdefghijklmnopqrstuvwxyz123456"
    with LoopbackServer([call("add", a=1, b=2), f"three (key {secret})"]) as server:
        model = server.openai_model()
        model._api_key = secret  # the key this request is sent with
        agent = Agent(name="c", model=model, tools=[add], instructions="Be brief.")
        Runner(Session()).run(agent, "1+2?")
        off = spans()
        assert not any(k.startswith(("gen_ai.input", "gen_ai.output", "gen_ai.tool.call.arg", "gen_ai.tool.call.res"))
                       for s in off for k in s.attributes)
        monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
        server.add_replies([call("add", a=1, b=2), f"three (key {secret})"])
        Runner(Session()).run(agent, "1+2?")
    on = spans()[len(off):]
    chat = [s for s in on if s.name.startswith("chat")]
    assert "1+2?" in chat[0].attributes["gen_ai.input.messages"]
    assert "three" in chat[-1].attributes["gen_ai.output.messages"]
    assert named(on, "execute_tool add").attributes["gen_ai.tool.call.result"] == "3"
    everything = json.dumps([dict(s.attributes) for s in on] + [str(e.attributes) for s in on for e in s.events])
    assert secret not in everything and "Authorization" not in everything


def test_two_hundred_concurrent_runs_each_get_their_own_tree(spans):
    async def one(i: int):
        agent = Agent(name=f"a{i}", model=ScriptedModel([call("add", a=i, b=1), f"{i + 1}"]), tools=[add])
        return await Runner(Session()).run_async(agent, "go")

    async def main():
        return await asyncio.gather(*(one(i) for i in range(200)))

    results = asyncio.run(main())
    assert [r.final_output for r in results] == [str(i + 1) for i in range(200)]
    got = spans()
    by_trace: dict = {}
    for span in got:
        by_trace.setdefault(span.context.trace_id, []).append(span)
    assert len(by_trace) == 200
    for trace_spans in by_trace.values():
        names = tree(trace_spans)
        agent = names[0].split()[-1]
        assert names == [f"invoke_workflow {agent}", f"  invoke_agent {agent}", "    chat scripted",
                         "    execute_tool add", "    chat scripted"]


def test_tools_on_worker_threads_see_their_span(spans):
    seen: dict[str, object] = {}

    @tool
    def where(tag: str) -> str:
        """Record the current span."""
        seen[tag] = (trace.get_current_span().get_span_context().span_id, threading.current_thread().name)
        return tag

    model = ScriptedModel([[call("where", tag="x"), call("where", tag="y")], "done"])
    Runner(Session()).run(Agent(name="w", model=model, tools=[where]), "go")
    tool_spans = {s.context.span_id for s in spans() if s.name == "execute_tool where"}
    assert {seen["x"][0], seen["y"][0]} == tool_spans


def test_metrics_token_usage_and_duration(spans):
    Runner(Session()).run(Agent(name="m", model=ScriptedModel(["hi"])), "hello")
    data = spans.reader.get_metrics_data()
    names = {m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert {"gen_ai.client.token.usage", "gen_ai.client.operation.duration"} <= names


def test_tracing_off_creates_no_span(monkeypatch):
    reset_tracing()
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    exporter = InMemorySpanExporter()
    # A provider exists but nobody told agentsilex or the global API about it: nothing is recorded.
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    Runner(Session()).run(Agent(name="a", model=ScriptedModel(["hi"])), "hello")
    assert exporter.get_finished_spans() == ()
    from agentsilex.tracing import setup

    assert setup.active_tracer() is None
    reset_tracing()


def test_debug_log_says_what_was_sent_redacted(caplog):
    secret = "sk-live-abcdefghijklmnopqrstuvwxyz123456"
    with caplog.at_level(logging.DEBUG, logger="agentsilex"):
        with LoopbackServer([f"echo {secret}"]) as server:
            model = server.openai_model()
            Runner(Session()).run(Agent(name="l", model=model, instructions="Be brief."), f"my key is {secret}")
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("agentsilex"))
    assert "model request" in text and "1 messages" not in text and "messages" in text
    assert "ms" in text
    assert secret not in text


def _python(code: str, **env: str) -> str:
    import os
    import subprocess
    import sys

    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_import_has_no_side_effect_even_with_the_variable_set():
    out = _python("import sys, agentsilex\n"
                  "print('opentelemetry' in sys.modules)\n"
                  "from agentsilex.tracing import setup\n"
                  "print(setup._decided)\n",
                  OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")
    assert out.split() == ["False", "False"]


def test_the_applications_own_provider_is_used_and_never_replaced():
    code = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
exporter = InMemorySpanExporter()
mine = TracerProvider()
mine.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(mine)
from agentsilex import Agent, Runner
from agentsilex.testing import ScriptedModel
tracer = trace.get_tracer("app")
with tracer.start_as_current_span("request /chat"):
    Runner().run(Agent(name="a", model=ScriptedModel(["hi"])), "hello")
assert trace.get_tracer_provider() is mine
names = sorted(s.name for s in exporter.get_finished_spans())
print(names)
"""
    # Even with the OTLP variable set, the application's provider wins: nothing is exported elsewhere.
    out = _python(code, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")
    assert "'invoke_workflow a'" in out and "'chat scripted'" in out and "'request /chat'" in out


def test_the_variable_alone_turns_export_on_at_the_first_run():
    code = """
from agentsilex import Agent, Runner
from agentsilex.testing import ScriptedModel
from agentsilex.tracing import setup
Runner().run(Agent(name="a", model=ScriptedModel(["hi"])), "hello")
from agentsilex.tracing import exporters
exporter = exporters._owned_providers[0]._active_span_processor._span_processors[0].span_exporter
print(type(exporter).__module__)
"""
    grpc = _python(code, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4317", OTEL_BSP_EXPORT_TIMEOUT="100",
                   OTEL_EXPORTER_OTLP_TIMEOUT="0.1")
    http = _python(code, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318", OTEL_BSP_EXPORT_TIMEOUT="100",
                   OTEL_EXPORTER_OTLP_TIMEOUT="0.1")
    assert "grpc" in grpc and "http" in http


def test_parallel_agents_as_tools_nest_under_their_own_tool_calls(spans, mode):
    subs = [Agent(name=n, model=ScriptedModel([call("add", a=1, b=1), "two"]), tools=[add]) for n in ("red", "blue")]
    boss = Agent(name="boss", model=ScriptedModel([[call("red", input="x"), call("blue", input="y")], "done"]),
                 tools=[s.as_tool() for s in subs])
    run_in_mode(Runner(Session()), boss, "go", mode)  # the two sub-agents run side by side
    got = spans()
    for name in ("red", "blue"):
        agent_span = named(got, f"invoke_agent {name}")
        assert agent_span.parent.span_id == named(got, f"execute_tool {name}").context.span_id
        children = [s for s in got if s.parent and s.parent.span_id == agent_span.context.span_id]
        assert sorted(s.name for s in children) == ["chat scripted", "chat scripted", "execute_tool add"]
