"""@tool: schemas from type hints and docstrings, argument validation, context parameters."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Literal, Optional

import pytest
from pydantic import BaseModel

from agentsilex import Context, Tool, tool
from agentsilex.errors import ToolArgumentsError, UserError


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    street: str
    zip_code: int


class Person(BaseModel):
    name: str
    address: Address


def props(t: Tool) -> dict:
    return t.parameters["properties"]


def test_basic_types_required_and_description():
    @tool
    def f(a: int, b: float, c: str, d: bool) -> str:
        """Do a thing.

        More detail about the thing.
        """
        return ""

    assert f.name == "f"
    assert f.description == "Do a thing.\n\nMore detail about the thing."
    assert {k: v["type"] for k, v in props(f).items()} == {"a": "integer", "b": "number", "c": "string",
                                                            "d": "boolean"}
    assert f.parameters["required"] == ["a", "b", "c", "d"]
    assert f.parameters["type"] == "object"
    assert f.spec()["function"]["name"] == "f"


@pytest.mark.parametrize("style", ["google", "numpy", "rest"])
def test_parameter_descriptions_from_each_docstring_style(style):
    docs = {
        "google": "Search.\n\nArgs:\n    query: What to look for.\n    limit: How many results.\n",
        "numpy": "Search.\n\nParameters\n----------\nquery : str\n    What to look for.\nlimit : int\n"
                 "    How many results.\n",
        "rest": "Search.\n\n:param query: What to look for.\n:param limit: How many results.\n",
    }

    def search(query: str, limit: int = 5) -> list[str]:
        return []

    search.__doc__ = docs[style]
    t = tool(search)
    assert t.description == "Search."
    assert props(t)["query"]["description"] == "What to look for."
    assert props(t)["limit"]["description"] == "How many results."
    assert props(t)["limit"]["default"] == 5
    assert t.parameters["required"] == ["query"]


def test_optional_union_none_defaults_literal_enum_list_dict():
    @tool
    def f(a: Optional[int], b: str | None = None, mode: Literal["fast", "slow"] = "fast", color: Color = Color.RED,
          tags: list[str] | None = None, weights: dict[str, float] | None = None) -> None:
        """F."""

    p = props(f)
    assert {"type": "integer"} in p["a"]["anyOf"] and {"type": "null"} in p["a"]["anyOf"]
    assert {"type": "null"} in p["b"]["anyOf"] and p["b"]["default"] is None
    assert p["mode"]["enum"] == ["fast", "slow"]
    assert f.parameters["required"] == ["a"]
    color_schema = json.dumps(f.parameters)
    assert '"red"' in color_schema and '"blue"' in color_schema
    assert {"type": "array", "items": {"type": "string"}} in p["tags"]["anyOf"]
    assert any(s.get("additionalProperties") == {"type": "number"} for s in p["weights"]["anyOf"])


def test_nested_pydantic_models_validate_into_instances():
    seen = {}

    @tool
    def register(person: Person, color: Color) -> str:
        """Register a person."""
        seen["person"], seen["color"] = person, color
        return "ok"

    schema = json.dumps(register.parameters)
    assert "zip_code" in schema and "street" in schema
    kwargs = register.parse_arguments('{"person": {"name": "Ann", "address": {"street": "Main", "zip_code": 1}},'
                                      ' "color": "blue"}')
    assert register.invoke(kwargs, None) == "ok"
    assert isinstance(seen["person"].address, Address) and seen["color"] is Color.BLUE


def test_property_named_title_is_kept_and_titles_are_stripped():
    @tool
    def f(title: str, json: int, schema: str) -> None:  # names that clash with BaseModel attributes
        """F."""

    assert set(props(f)) == {"title", "json", "schema"}
    assert "title" not in props(f)["json"]
    assert f.parse_arguments('{"title": "t", "json": 1, "schema": "s"}') == {"title": "t", "json": 1, "schema": "s"}


def test_decorator_with_options_and_no_docstring():
    @tool(name="lookup_user", description="Find a user by id.")
    def f(user_id: int) -> str:
        return ""

    assert (f.name, f.description) == ("lookup_user", "Find a user by id.")

    @tool()
    def g(x) -> None:  # no annotation: any JSON value
        pass

    assert g.description == "" and "x" in props(g)


def test_invalid_tool_definitions_raise_user_error():
    with pytest.raises(UserError, match="args"):
        @tool
        def f(*args): ...
    with pytest.raises(UserError, match="invalid"):
        tool(name="has spaces")(lambda: None)
    with pytest.raises(UserError):
        tool(42)

    class Local:  # unresolvable under `from __future__ import annotations`
        pass

    with pytest.raises(UserError, match="module level"):
        @tool
        def g(x: Local) -> None: ...


@pytest.mark.parametrize("raw, match", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('"text"', "must be a JSON object"),
    ('{"a": "x", "b": 2}', r"a: Input should be a valid integer"),
    ('{"a": 1}', "b: Field required"),
    ('{"a": 1, "b": 2, "c": 3}', "c: Extra inputs are not permitted"),
])
def test_argument_validation_errors_name_the_problem(raw, match):
    @tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    with pytest.raises(ToolArgumentsError, match=match) as info:
        add.parse_arguments(raw)
    assert info.value.tool_name == "add"


def test_empty_arguments_mean_no_arguments():
    @tool
    def now() -> str:
        """Now."""
        return "noon"

    assert now.parse_arguments("") == {} and now.parse_arguments(None) == {}
    assert now.parameters == {"type": "object", "properties": {}, "additionalProperties": False}


def test_context_parameter_by_name_is_injected_and_hidden():
    @tool
    def remember(key: str, context) -> str:
        """Remember."""
        context[key] = True
        return "ok"

    assert set(props(remember)) == {"key"}
    ctx: dict = {}
    remember.invoke(remember.parse_arguments('{"key": "k"}'), ctx)
    assert ctx == {"k": True}


@dataclass
class Deps:
    user: str


class Connection:
    """Not describable as JSON: a parameter annotated with it can only be the run context."""

    def __init__(self, user: str) -> None:
        self.user = user


def test_context_parameter_is_decided_when_the_tool_is_defined():
    @tool
    def marked(greeting: str, deps: Context[Deps]) -> str:
        """Marked explicitly."""
        return f"{greeting} {deps.user}"

    @tool
    def by_class(greeting: str, conn: Connection) -> str:
        """A class pydantic cannot describe."""
        return f"{greeting} {conn.user}"

    @tool
    def plain(greeting: str, deps: Deps) -> str:
        """A dataclass is an ordinary (JSON) argument unless marked Context[...]."""
        return f"{greeting} {deps.user}"

    assert set(props(marked)) == {"greeting"} and marked.context_type is Deps
    assert marked.invoke(marked.parse_arguments('{"greeting": "hi"}'), Deps("ann")) == "hi ann"
    assert set(props(by_class)) == {"greeting"} and by_class.context_type is Connection
    assert set(props(plain)) == {"greeting", "deps"} and plain.context_param is None
    # The schema is the same whatever context a Runner will pass.
    with pytest.raises(UserError, match="takes the run context as a Deps"):
        marked.check_context({"a": 1})
    marked.check_context(Deps("bob"))


def test_two_context_parameters_are_refused():
    with pytest.raises(UserError, match="would all receive the run context"):
        @tool
        def both(context, deps: Context[Deps]) -> str:
            """Two."""
            return ""


def test_tool_from_schema_validates_required_and_unknown_arguments():
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
              "additionalProperties": False}
    weather = Tool.from_schema("weather", "Weather in a city.", schema, lambda city: f"sunny in {city}")
    assert weather.spec()["function"] == {"name": "weather", "description": "Weather in a city.",
                                          "parameters": schema}
    assert weather.invoke(weather.parse_arguments('{"city": "Oslo"}'), None) == "sunny in Oslo"
    with pytest.raises(ToolArgumentsError, match="city: Field required"):
        weather.parse_arguments("{}")
    with pytest.raises(ToolArgumentsError, match="country: not a parameter"):
        weather.parse_arguments('{"city": "Oslo", "country": "NO"}')
    with pytest.raises(ToolArgumentsError, match="not valid JSON"):
        weather.parse_arguments("{")


def test_hand_built_tools_are_checked_when_built():
    ok = Tool(name="echo", description="Echo.", function=lambda text="": text, parameters={"type": "object"})
    assert ok.parse_arguments('{"text": "x"}') == {"text": "x"}
    with pytest.raises(UserError, match="Tool name"):
        Tool.from_schema("bad name", "", {"type": "object"}, print)
    with pytest.raises(UserError, match="JSON schema of an object"):
        Tool.from_schema("t", "", {"type": "string"}, print)
    with pytest.raises(UserError, match="must be callable"):
        Tool.from_schema("t", "", {"type": "object"}, "not a function")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="context_param"):
        Tool.from_schema("t", "", {"type": "object"}, print, context_param="not a name")


def test_tool_stays_callable_like_the_function():
    @tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    assert add(2, 3) == 5
    assert add.parameters_specification is add.parameters


def test_tool_from_schema_passes_the_schema_through_and_checks_required_keys(mode):
    from agentsilex import Agent, Runner, Tool
    from agentsilex.errors import UserError
    from agentsilex.testing import ScriptedModel, call

    from conftest import run_in_mode

    schema = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
              "required": ["a", "b"], "additionalProperties": False}

    async def add(**arguments):
        return arguments["a"] + arguments["b"]

    made = Tool.from_schema("add", "Add two numbers.", schema, add)
    assert made.spec()["function"]["parameters"] is schema and made.is_async
    model = ScriptedModel([call("add", a=2), call("add", a=2, b=3), "done"])
    result, _ = run_in_mode(Runner(), Agent(name="a", model=model, tools=[made]), "go", mode)
    contents = [c.content for c in result.function_calls]
    assert "b: Field required" in contents[0] and contents[1] == "5"
    with pytest.raises(UserError, match="'bad name' is invalid"):
        Tool.from_schema("bad name", "", schema, add)
    with pytest.raises(UserError, match="parameters must be a JSON schema of an object"):
        Tool.from_schema("ok", "", ["not", "a", "schema"], add)  # type: ignore[arg-type]
