"""Streamed structured output: `partial_output` events carry the object so far, in every output mode, on both model
paths and in every streaming mode; the final event is unchanged."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Literal

from typing_extensions import TypedDict

import pytest
from conftest import run_in_mode
from pydantic import BaseModel

from agentsilex import Agent, OutputSpec, Runner, Session, tool
from agentsilex.features.partial_output import _NOTHING, parse_partial, partial_value
from agentsilex.testing import ScriptedModel, call


class Step(BaseModel):
    title: str
    minutes: int


class Recipe(BaseModel):
    name: str
    steps: list[Step]
    vegetarian: bool = False


RECIPE = Recipe(name="Pancakes", vegetarian=True, steps=[
    Step(title=f"Step number {n}: stir the batter gently and wait", minutes=n) for n in range(1, 13)])
ANSWER = RECIPE.model_dump_json()


@tool
def pantry(item: str) -> str:
    """What the pantry holds."""
    return f"{item}: plenty"


def _agent(model, mode: str) -> Agent:
    spec = Recipe if mode == "native" else OutputSpec(Recipe, mode=mode)
    return Agent(name="chef", model=model, tools=[pantry], output_type=spec)


def _replies(mode: str) -> list:
    answer = call("final_answer", **json.loads(ANSWER)) if mode == "tool" else ANSWER
    return [call("pantry", item="flour"), answer]


def _partials(events: list) -> list:
    return [event.output for event in events if event.type == "partial_output"]


def _check_growth(partials: list) -> None:
    """Each object has at least as many complete steps as the one before, fields only fill in, never change."""
    assert len(partials) >= 10, len(partials)  # a long answer streams as many partial objects
    assert all(isinstance(p, Recipe) for p in partials)
    counts = [len(p.steps or []) for p in partials]
    assert counts == sorted(counts) and counts[-1] == 12 and counts[0] < 12
    for partial in partials:
        for got, want in zip(partial.steps or [], RECIPE.steps):
            assert want.title.startswith(got.title or "") and got.minutes in (None, want.minutes)
    assert partials[-1] == RECIPE


@pytest.mark.parametrize("output_mode", ["native", "tool", "prompted"])
def test_every_output_mode_streams_partial_objects_in_every_run_mode(mode, output_mode):
    model = ScriptedModel(_replies(output_mode))
    result, events = run_in_mode(Runner(Session()), _agent(model, output_mode), "pancakes?", mode)
    assert result.final_output == RECIPE
    assert model.requests[1].output_mode == output_mode
    if mode in ("sync", "async"):
        assert events == []
        return
    _check_growth(_partials(events))
    assert events[-1].type == "final_result" and events[-1].final_output == RECIPE  # the final event as today
    text = "".join(e.content for e in events if e.type == "partial_output")
    assert text == ("" if output_mode == "tool" else ANSWER)  # content stays the answer's text


@pytest.mark.parametrize("output_mode", ["native", "tool", "prompted"])
def test_both_model_paths_stream_partial_objects(openai_env, output_mode):
    openai_env.add_replies(_replies(output_mode))
    stream = Runner().run_stream(_agent("gpt-4o-mini", output_mode), "pancakes?")
    events = list(stream)
    assert stream.result.final_output == RECIPE
    _check_growth(_partials(events))
    sent = openai_env.requests[-1]
    assert sent["stream"] is True
    assert ("response_format" in sent) == (output_mode == "native")


def test_async_stream_on_the_native_path(openai_env):
    openai_env.add_replies(_replies("native"))

    async def consume() -> list:
        return [event async for event in Runner().run_stream_async(_agent("gpt-4o-mini", "native"), "pancakes?")]

    _check_growth(_partials(asyncio.run(consume())))


def test_plain_text_answers_carry_no_object():
    stream = Runner().run_stream(Agent(name="a", model=ScriptedModel(['{"looks": "like json"}'])), "hi")
    assert [e.output for e in stream if e.type == "partial_output"] == [None, None]


def test_partial_objects_are_not_loaded_without_an_output_type():
    code = ("import sys\nfrom agentsilex import Agent, Runner\nfrom agentsilex.testing import ScriptedModel\n"
            "list(Runner().run_stream(Agent(name='a', model=ScriptedModel(['hi'])), 'x'))\n"
            "print('agentsilex.features.partial_output' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


def test_the_parser_shows_only_what_cannot_change():
    assert parse_partial('{"a": "hel') == {"a": "hel"}  # a string grows, but what is there stays
    assert parse_partial('{"a": 12') == {}  # 12 may become 125
    assert parse_partial('{"a": [1, 2') == {"a": [1]}
    assert parse_partial('{"a": tr') == {}
    assert parse_partial('{"a": "x", "b') == {"a": "x"}
    assert parse_partial('{"a": "ends with 12') == {"a": "ends with 12"}
    assert parse_partial('```json\n{"a": 1, ') == {"a": 1}  # prompted answers may come fenced
    assert parse_partial("Sure! Here it is") is _NOTHING and parse_partial("") is _NOTHING


def test_partial_validation_keeps_what_validates():
    partial = partial_value(Recipe, {"name": "Soup", "steps": [{"title": "Boil", "minutes": "x"}]})
    assert partial.name == "Soup" and partial.steps == [Step.model_construct(title="Boil", minutes=None)]
    assert partial.vegetarian is False and partial.model_fields_set == {"name", "steps"}

    class Weather(TypedDict):
        city: str
        sky: Literal["sunny", "rainy"]

    assert partial_value(Weather, {"city": "Oslo", "sky": "sun"}) == {"city": "Oslo"}  # "sun" is not yet valid

    @dataclass
    class Point:
        x: int
        y: int = 0

    point = partial_value(Point, {"x": 3})
    assert (point.x, point.y) == (3, 0)
    assert partial_value(list[int], [1, "two", 3]) == [1, 3]
    assert partial_value(int | None, "nope") is _NOTHING


def test_a_wrapped_type_streams_its_value():
    model = ScriptedModel(['{"response": ["alpha", "beta", "gamma"]}'])
    stream = Runner().run_stream(Agent(name="l", model=model, output_type=list[str]), "list")
    partials = [e.output for e in stream if e.type == "partial_output"]
    assert partials[-1] == ["alpha", "beta", "gamma"] and any(p and len(p) < 3 for p in partials)
    assert stream.result.final_output == ["alpha", "beta", "gamma"]
