import json

from conftest import run_in_mode
from pydantic import BaseModel
from history import assert_valid_history as assert_valid

import pytest

from agentsilex import Agent, ModelBehaviorError, OutputSpec, Runner, Session, UserError, tool
from agentsilex.testing import ScriptedModel, call


class Weather(BaseModel):
    city: str
    celsius: float


@tool
def temperature(city: str) -> float:
    """Current temperature."""
    return 21.5


def test_native_response_format_validates_final_output(mode):
    model = ScriptedModel([call("temperature", city="Oslo"), '{"city": "Oslo", "celsius": 21.5}'])
    agent = Agent(name="w", model=model, tools=[temperature], output_type=Weather)
    session = Session()
    result, events = run_in_mode(Runner(session), agent, "weather?", mode)
    assert result.final_output == Weather(city="Oslo", celsius=21.5)
    fmt = model.requests[0].response_format
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Weather"
    assert fmt["json_schema"]["schema"]["required"] == ["city", "celsius"]
    assert session.dialogs[-1]["content"] == '{"city": "Oslo", "celsius": 21.5}'  # plain JSON in the session
    if events:
        assert events[-1].final_output == Weather(city="Oslo", celsius=21.5)


def test_non_object_type_is_wrapped_and_unwrapped(mode):
    model = ScriptedModel(['{"response": ["a", "b"]}'])
    result, _ = run_in_mode(Runner(), Agent(name="l", model=model, output_type=list[str]), "list", mode)
    assert result.final_output == ["a", "b"]
    assert model.requests[0].response_format["json_schema"]["schema"]["properties"]["response"] == {
        "type": "array", "items": {"type": "string"}}


def test_invalid_output_retried_once_with_the_error(mode):
    model = ScriptedModel(['{"city": "Oslo"}', '```json\n{"city": "Oslo", "celsius": 3}\n```'])
    session = Session()
    result, _ = run_in_mode(Runner(session), Agent(name="w", model=model, output_type=Weather), "go", mode)
    assert result.final_output == Weather(city="Oslo", celsius=3)
    retry = model.requests[1].messages
    assert retry[-2] == {"role": "assistant", "content": '{"city": "Oslo"}'}
    assert retry[-1]["role"] == "user" and "celsius: Field required" in retry[-1]["content"]
    # The rejected attempt and the note were for that one request only.
    assert [m["role"] for m in session.dialogs] == ["user", "assistant"]


def test_invalid_output_twice_raises_model_behavior_error(mode):
    model = ScriptedModel(["not json", '{"city": 1}'])
    session = Session()
    with pytest.raises(ModelBehaviorError, match="again after one retry"):
        run_in_mode(Runner(session), Agent(name="w", model=model, output_type=Weather), "go", mode)
    assert "not valid JSON" in model.requests[1].messages[-1]["content"]
    assert session.dialogs == [{"role": "user", "content": "go"}]


def test_tool_fallback_when_provider_cannot_mix_response_format_and_tools(mode):
    model = ScriptedModel([call("temperature", city="Rome"), call("final_answer", city="Rome"),
                           call("final_answer", city="Rome", celsius=30)])
    model.supports_response_format_with_tools = False
    session = Session()
    agent = Agent(name="w", model=model, tools=[temperature], output_type=Weather)
    result, _ = run_in_mode(Runner(session), agent, "go", mode)
    assert result.final_output == Weather(city="Rome", celsius=30)
    assert model.requests[0].response_format is None
    assert [t["function"]["name"] for t in model.requests[0].tools] == ["temperature", "final_answer"]
    tool_messages = [m["content"] for m in session.dialogs if m["role"] == "tool"]
    assert tool_messages[1].startswith("Error:") and "celsius" in tool_messages[1]
    assert tool_messages[2] == "Final answer received."
    assert_valid(session.dialogs)


def test_prompted_fallback_without_response_format(mode):
    model = ScriptedModel(['{"city": "Paris", "celsius": 12}'])
    model.supports_response_format = False
    agent = Agent(name="w", model=model, instructions="Be brief.", output_type=Weather)
    result, _ = run_in_mode(Runner(), agent, "go", mode)
    assert result.final_output.city == "Paris"
    system = model.requests[0].messages[0]["content"]
    assert system.startswith("Be brief.") and '"celsius"' in system
    assert model.requests[0].response_format is None


def test_forced_mode_and_bad_types():
    model = ScriptedModel([call("final_answer", response=[1, 2])])
    result = Runner().run(Agent(name="n", model=model, output_type=OutputSpec(list[int], mode="tool")), "go")
    assert result.final_output == [1, 2]
    with pytest.raises(UserError, match="mode must be"):
        OutputSpec(int, mode="magic")


def test_response_format_reaches_the_provider_through_litellm(openai_env, mode):
    openai_env.add_replies(['{"city": "Oslo", "celsius": 1}'])
    agent = Agent(name="w", model="gpt-4o", output_type=Weather)
    result, _ = run_in_mode(Runner(), agent, "go", mode)
    assert result.final_output == Weather(city="Oslo", celsius=1)
    sent = openai_env.requests[0]["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["schema"]["properties"]["celsius"]
    assert json.dumps(sent)


def test_output_type_str_is_plain_text():
    model = ScriptedModel(["just text"])
    result = Runner().run(Agent(name="s", model=model, output_type=str), "go")
    assert result.final_output == "just text" and model.requests[0].response_format is None
