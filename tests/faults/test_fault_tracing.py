"""Traces carry error types, never message text, with content capture off (issue 21, point 3): a tool's exception
quoting an email and an SSN reaches no span attribute, event or status; with capture on, the (key-redacted) text
is there as before. Checked on every span of the run, in all four modes, with the SDK's in-memory exporter."""

from __future__ import annotations

import json

import pytest
from conftest import run_in_mode

from agentsilex import Agent, Runner, Session, tool
from agentsilex.testing import ScriptedModel, call

pytest.importorskip("opentelemetry.sdk.trace", reason="needs the tracing extra")
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from agentsilex.tracing import configure_tracing, reset_tracing  # noqa: E402

EMAIL, SSN, KEY = "jane.doe@example.com", "078-05-1120", "sk-live-abcdefghijklmnopqrstuvwxyz123456"


@tool
def lookup_customer(name: str) -> str:
    """Find a customer."""
    raise ValueError(f"no match for {EMAIL} (SSN {SSN}, key {KEY})")


def _exported(mode: str, capture: bool, raise_tool_errors: bool) -> list:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    configure_tracing(tracer_provider=provider, capture_content=capture)
    try:
        agent = Agent(name="desk", model=ScriptedModel([call("lookup_customer", name="Jane"), "sorry"]),
                      tools=[lookup_customer])
        runner = Runner(Session(), raise_tool_errors=raise_tool_errors)
        if raise_tool_errors:  # the run fails too: its agent and workflow spans end with the error
            with pytest.raises(Exception):
                run_in_mode(runner, agent, "find Jane", mode)
        else:
            run_in_mode(runner, agent, "find Jane", mode)
    finally:
        reset_tracing()
    return list(exporter.get_finished_spans())


def _text(spans: list) -> str:
    """Everything a span exports: attributes, events and their attributes, status."""
    return json.dumps([{"attributes": dict(s.attributes), "status": [s.status.status_code.name, s.status.description],
                        "events": [[e.name, dict(e.attributes)] for e in s.events]} for s in spans], default=str)


@pytest.mark.parametrize("raise_tool_errors", [False, True], ids=["tool error", "run fails"])
def test_with_capture_off_an_error_is_its_type_only(mode, raise_tool_errors):
    spans = _exported(mode, capture=False, raise_tool_errors=raise_tool_errors)
    exported = _text(spans)
    for secret in (EMAIL, SSN, KEY, "no match"):
        assert secret not in exported
    failed = [s for s in spans if s.status.status_code.name == "ERROR"]
    assert [s.name for s in failed if s.name.startswith("execute_tool")] == ["execute_tool lookup_customer"]
    if raise_tool_errors:
        assert {s.name for s in failed} >= {"invoke_workflow desk", "invoke_agent desk"}
    for span in failed:
        assert span.attributes["error.type"] in ("ValueError", "ToolError")
        assert span.status.description in ("ValueError", "ToolError")
        assert [dict(e.attributes) for e in span.events if e.name == "exception"] == [
            {"exception.type": span.attributes["error.type"]}]


def test_with_capture_on_the_message_is_there_redacted(mode):
    spans = _exported(mode, capture=True, raise_tool_errors=False)
    tool_span = next(s for s in spans if s.name == "execute_tool lookup_customer")
    event = next(e for e in tool_span.events if e.name == "exception")
    assert EMAIL in event.attributes["exception.message"] and SSN in tool_span.status.description
    assert KEY not in _text(spans)  # keys never, whatever the setting
