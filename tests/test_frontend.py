"""What the CLI and the web chat share (agentsilex.frontend) and the demo model they default to."""

from __future__ import annotations

import json
import uuid

import pytest
from pydantic import BaseModel

from agentsilex import Agent, Runner, Session, UserError
from agentsilex.frontend import (Store, describe_error, event_view, load_agent, needs_prices, result_view,
                                 with_model)
from agentsilex.models.litellm import LiteLLMModel
from agentsilex.models.openai_http import OpenAIHTTPModel
from agentsilex.testing import ScriptedModel
from agentsilex.testing.demo import DemoModel, agent as demo_agent, demo_reply
from session_stores import POSTGRES_URL, REDIS_URL, _postgres_engine, _redis_client

from conftest import run_in_mode


def test_load_agent_from_a_module_a_default_name_or_a_file(tmp_path):
    assert load_agent("agentsilex.testing.demo:agent") is demo_agent
    assert load_agent("agentsilex.testing.demo") is demo_agent  # the attribute defaults to `agent`
    assert load_agent("agentsilex.testing.demo:poet").name == "poet"
    (tmp_path / "helper.py").write_text("NAME = 'from a neighbour'\n")
    (tmp_path / "mine.py").write_text("from agentsilex import Agent\nfrom helper import NAME\n"
                                      "bot = Agent(name=NAME, model='gpt-4o')\n")
    assert load_agent(f"{tmp_path / 'mine.py'}:bot").name == "from a neighbour"
    (tmp_path / "typed.py").write_text("from dataclasses import dataclass\nfrom pydantic import BaseModel\n"
                                       "from agentsilex import Agent\n@dataclass\nclass Deps:\n    user: str\n"
                                       "class Out(BaseModel):\n    n: int\n"
                                       "agent = Agent(name='typed', model='gpt-4o', output_type=Out)\n")
    assert load_agent(str(tmp_path / "typed.py")).output_type.__name__ == "Out"  # classes defined in the file


@pytest.mark.parametrize("spec,message", [
    ("agentsilex.testing.demo:missing", "has no attribute 'missing'"),
    ("agentsilex.testing.demo:HELP", "is a str, not an Agent"),
    ("not_a_module_anywhere:agent", "No module named 'not_a_module_anywhere'"),
    ("nowhere/file.py:agent", "No such file"),
    (":agent", "is not an agent path"),
])
def test_load_agent_errors_say_what_to_do(spec, message):
    with pytest.raises(UserError, match=message):
        load_agent(spec)


def test_with_model_swaps_the_model():
    assert with_model(demo_agent, None) is demo_agent
    assert isinstance(with_model(demo_agent, "demo").model, DemoModel)
    assert with_model(demo_agent, "gpt-4o-mini").model == "gpt-4o-mini"
    local = with_model(demo_agent, "openai/x", base_url="http://127.0.0.1:9/v1").model  # the native path's string
    assert isinstance(local, OpenAIHTTPModel) and local.base_url == "http://127.0.0.1:9/v1"
    other = with_model(demo_agent, "litellm/openai/x", base_url="http://127.0.0.1:9/v1").model
    assert isinstance(other, LiteLLMModel) and (other.name, other.base_url) == ("openai/x", "http://127.0.0.1:9/v1")
    with pytest.raises(UserError, match="--base-url needs a model name"):
        with_model(demo_agent, None, base_url="http://127.0.0.1:9/v1")
    assert demo_agent.model.name == "demo"  # the original is untouched


def test_prices_are_looked_up_only_for_real_models():
    assert not needs_prices(demo_agent)  # the demo (and its poet) never import LiteLLM for a price
    assert needs_prices(demo_agent.clone(model="gpt-4o"))


def test_the_demo_model_streams_in_every_mode(mode):
    agent = demo_agent.clone(model=DemoModel(delay=0))
    result, events = run_in_mode(Runner(Session()), agent, "What is 12 times 7?", mode)
    assert result.final_output == "12 × 7 = **84**"
    assert [c.name for c in result.function_calls] == ["multiply_numbers"]
    if mode in ("stream", "async_stream"):
        pieces = [e.content for e in events if e.type == "partial_output"]
        assert len(pieces) > 1 and "".join(pieces) == result.final_output


def test_the_demo_rules_use_only_the_tools_on_offer():
    assert demo_reply([{"role": "user", "content": "What is 5 + 3?"}], []).startswith("You said: *What is 5 + 3?*")
    weather = {"type": "function", "function": {"name": "get_weather"}}
    reply = demo_reply([{"role": "user", "content": "weather in Oslo?"}], [weather])
    assert reply.name == "get_weather" and json.loads(reply.arguments) == {"city": "Oslo"}


class Answer(BaseModel):
    value: int


def test_views_are_plain_json():
    agent = Agent(name="typed", model=ScriptedModel(['{"value": 3}']), output_type=Answer)
    stream = Runner().run_stream(agent, "three")
    views = [view for view in (event_view(e, priced=False) for e in stream) if view]
    assert views[-1]["type"] == "final_result" and views[-1]["final_output"] == {"value": 3}
    assert json.loads(json.dumps(views)) == views
    assert result_view(stream.result, priced=False)["usage"]["cost_usd"] is None


def test_describe_error_is_one_line():
    error = UserError("first line\n  second line")
    assert describe_error(error) == "first line second line"
    assert describe_error(ValueError("x")) == "ValueError: x"


def _store(kind: str, tmp_path):
    if kind == "sqlite":
        return Store(f"sqlite:///{tmp_path / 's.db'}")
    if kind == "redis":
        _redis_client()
        return Store(REDIS_URL)
    schema = f"frontend_{uuid.uuid4().hex[:8]}"
    _postgres_engine(schema).dispose()  # skips (or fails in CI) without PostgreSQL; makes the schema
    return Store(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")


@pytest.mark.parametrize("kind", ["sqlite", "redis", "postgres"])
def test_store_urls_open_every_persistent_store(kind, tmp_path):
    store = _store(kind, tmp_path)
    name = f"front-{uuid.uuid4().hex[:8]}"
    session = store.create(name)
    session.add_new_messages([{"role": "user", "content": "hi there"}, {"role": "assistant", "content": "hello"}])
    row = next(r for r in store.list() if r["id"] == name)
    assert row["title"] == "hi there" and row["messages"] == 2 and row["created"]
    assert store.session(name).get_dialogs()[1]["content"] == "hello"
    store.delete(name)
    assert not store.exists(name)
    if kind != "redis":  # one database (schema) per test: the list holds exactly what this test made
        assert store.ids() == []
