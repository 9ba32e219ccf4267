"""Reasoning continuity: reasoning and thinking blocks kept, sent back to their provider, stripped for others."""

from __future__ import annotations

import json

import pytest
from conftest import run_in_mode
from history import assert_valid_history

from agentsilex import Agent, ReasoningDeltaEvent, RetryPolicy, Runner, Session, handoff, tool
from agentsilex.models import reasoning
from agentsilex.models.stream import StreamAccumulator, response_to_chunks
from agentsilex.testing import Fail, LoopbackServer, ScriptedModel
from agentsilex.testing.script import to_response

THINKING = "The user wants the weather; I should call the tool first."
BLOCKS = [{"type": "thinking", "thinking": THINKING, "signature": "sig-EqQBCkYIBxgCKkB"},
          {"type": "redacted_thinking", "data": "ENCRYPTED-abc"}]
FIELDS = {"reasoning_content": THINKING, "thinking_blocks": BLOCKS}
REASONED_CALL = {"content": None, **FIELDS,
                 "tool_calls": [{"id": "c1", "type": "function",
                                 "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}]}


@tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"rain in {city}"


def test_the_stream_accumulator_joins_reasoning_and_signed_blocks():
    reply = to_response({**REASONED_CALL, "provider_specific_fields": {"citations": ["a"]}}, None, None)
    accumulator = StreamAccumulator("a")
    events = [e for chunk in response_to_chunks(reply, piece=5) for e in accumulator.feed(chunk)]
    message = accumulator.response().message
    assert message["reasoning_content"] == THINKING and message["thinking_blocks"] == BLOCKS
    assert message["provider_specific_fields"] == {"citations": ["a"]}
    deltas = [e for e in events if isinstance(e, ReasoningDeltaEvent)]
    assert "".join(e.content for e in deltas) == THINKING and len(deltas) > 3
    assert {e.type for e in deltas} == {"reasoning_delta"} and deltas[0].agent == "a"


def test_openai_compatible_reasoning_field_names_are_read():
    accumulator = StreamAccumulator()
    for piece in ("I think", " so"):
        accumulator.feed({"choices": [{"delta": {"reasoning": piece}}]})
    accumulator.feed({"choices": [{"delta": {"content": "yes"}, "finish_reason": "stop"}]})
    assert accumulator.response().message == {"role": "assistant", "content": "yes", "reasoning_content": "I think so"}
    assert reasoning.extract({"reasoning": "r", "provider_specific_fields": {"x": None}}) == {"reasoning_content": "r"}


def test_reasoning_survives_a_tool_call_and_goes_back_to_its_provider(mode):
    model = ScriptedModel([REASONED_CALL, "Rain in Oslo."], name="anthropic/claude-test")
    session = Session()
    result, events = run_in_mode(Runner(session), Agent(name="a", model=model, tools=[weather]), "Weather?", mode)
    assert result.final_output == "Rain in Oslo."
    stored = session.dialogs[1]
    assert stored["reasoning_content"] == THINKING and stored["thinking_blocks"] == BLOCKS
    assert stored[reasoning.MARK] == "anthropic"
    sent = model.requests[1].messages[1]
    assert sent == {k: v for k, v in stored.items() if k != reasoning.MARK}  # sent back whole, unmarked
    assert all(reasoning.MARK not in m for request in model.requests for m in request.messages)
    assert_valid_history(session.dialogs)
    if mode.endswith("stream"):
        assert "".join(e.content for e in events if e.type == "reasoning_delta") == THINKING
        assert "".join(e.content for e in events if e.type == "partial_output") == "Rain in Oslo."
    model.assert_complete()


def test_a_handoff_to_another_provider_strips_reasoning(mode):
    other = ScriptedModel(["Bonjour."], name="openai/gpt-test")
    french = Agent(name="french", model=other)
    first = ScriptedModel([{**FIELDS, "content": None, "tool_calls": [
        {"id": "h1", "type": "function", "function": {"name": "transfer_to_french", "arguments": "{}"}}]}],
        name="anthropic/claude-test")
    session = Session()
    result, _ = run_in_mode(Runner(session), Agent(name="triage", model=first, handoffs=[handoff(french)]),
                            "Bonjour?", mode)
    assert result.final_output == "Bonjour."
    sent = other.requests[0].messages
    assert all(key not in m for m in sent for key in (*reasoning.FIELDS, reasoning.MARK))
    assert session.dialogs[1]["thinking_blocks"] == BLOCKS  # the stored history stays whole


@pytest.mark.parametrize("backup_name, kept", [("openai/gpt-test", False), ("anthropic/claude-other", True)])
def test_a_fallback_to_another_provider_strips_reasoning(mode, backup_name, kept):
    primary = ScriptedModel([REASONED_CALL, Fail(500, forever=True)], name="anthropic/claude-test")
    backup = ScriptedModel(["From the backup."], name=backup_name)
    agent = Agent(name="a", model=primary, tools=[weather], fallback_models=[backup])
    runner = Runner(Session(), retry=RetryPolicy(max_retries=0))
    result, _ = run_in_mode(runner, agent, "Weather?", mode)
    assert result.final_output == "From the backup."
    assert primary.requests[1].messages[1]["thinking_blocks"] == BLOCKS
    sent = backup.requests[0].messages[1]
    assert sent["role"] == "assistant" and reasoning.MARK not in sent
    assert ("thinking_blocks" in sent and "reasoning_content" in sent) is kept
    assert any(key in sent for key in reasoning.FIELDS) is kept


def test_reasoning_without_a_mark_is_never_sent():
    history = [{"role": "assistant", "content": "x", "reasoning_content": "who wrote this?"}]
    assert reasoning.for_provider(history, "anthropic") == [{"role": "assistant", "content": "x"}]


@pytest.mark.parametrize("style", ["openai_compatible", "anthropic_via_litellm"])
@pytest.mark.parametrize("path", ["litellm", "native"])
def test_reasoning_over_http_on_both_model_paths(path, style, mode):
    reply = dict(REASONED_CALL)
    if style == "openai_compatible":  # DeepSeek, vLLM: reasoning text only
        del reply["thinking_blocks"]
    with LoopbackServer([reply, "Rain in Oslo."]) as server:
        model = server.litellm_model() if path == "litellm" else server.openai_model()
        session = Session()
        result, events = run_in_mode(Runner(session), Agent(name="a", model=model, tools=[weather]),
                                     "Weather?", mode)
        assert result.final_output == "Rain in Oslo."
        stored = session.dialogs[1]
        assert stored["reasoning_content"] == THINKING and stored[reasoning.MARK] == "openai"
        if style == "anthropic_via_litellm":
            assert stored["thinking_blocks"] == BLOCKS
        sent = server.requests[1]["messages"][1]
        assert sent["reasoning_content"] == THINKING and reasoning.MARK not in sent
        if style == "anthropic_via_litellm":
            assert sent["thinking_blocks"] == BLOCKS
        if mode.endswith("stream"):
            assert "".join(e.content for e in events if e.type == "reasoning_delta") == THINKING
        json.dumps(session.dialogs)


def test_a_server_script_file_can_hold_reasoning_replies(tmp_path):
    from agentsilex.testing.script import reply_from_json

    item = {"reasoning_content": THINKING, "thinking_blocks": BLOCKS,
            "tool_calls": [{"name": "weather", "arguments": {"city": "Oslo"}, "id": "c1"}]}
    assert reply_from_json(item) == {"content": None, **REASONED_CALL}
    assert reply_from_json({"content": "hi", "reasoning_content": "r"}) == {"content": "hi", "reasoning_content": "r"}
    assert reply_from_json({"tool_calls": [{"name": "f", "id": "x"}]})[0].name == "f"
    with LoopbackServer([reply_from_json({"content": "Yes.", "reasoning_content": "Short thought."})]) as server:
        stream = Runner(Session()).run_stream(Agent(name="a", model=server.openai_model()), "Sure?")
        assert [e.content for e in stream if e.type == "reasoning_delta"] == ["Short thought."]
        assert stream.result.new_messages[-1]["reasoning_content"] == "Short thought."
