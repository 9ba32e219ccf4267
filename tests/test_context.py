from dataclasses import dataclass, field

from conftest import run_in_mode

import pytest

from agentsilex import Agent, Context, Runner, Session, Tool, UserError, tool
from agentsilex.testing import ScriptedModel, call


@dataclass
class Shop:
    user: str
    cart: list[str] = field(default_factory=list)


@tool
def add_to_cart(item: str, shop: Context[Shop]) -> str:
    """Add an item to the cart."""
    shop.cart.append(item)
    return f"{len(shop.cart)} items"


@tool
def count(context: dict) -> int:
    """Count calls."""
    context["calls"] = context.get("calls", 0) + 1
    return context["calls"]


def test_typed_context_shared_across_turns_handoffs_and_sub_agents(mode):
    shop = Shop("ann")
    helper = Agent(name="helper", model=ScriptedModel([call("add_to_cart", item="pear"), "added pear"]),
                   tools=[add_to_cart])
    checkout = Agent(name="checkout", model=ScriptedModel([call("add_to_cart", item="fig"), "ok", "bye"]),
                     instructions=lambda ctx: f"Cart of {ctx.user}: {', '.join(ctx.cart)}", tools=[add_to_cart])
    front = Agent(name="front", model=ScriptedModel([call("add_to_cart", item="apple"), call("helper", input="pear"),
                                                     call("transfer_to_checkout")]),
                  tools=[add_to_cart, helper.as_tool()], handoffs=[checkout])
    runner = Runner(Session(), context=shop)
    # The model never sees the context parameter.
    assert [p for p in add_to_cart.parameters["properties"]] == ["item"]
    result, _ = run_in_mode(runner, front, "buy", mode)
    assert result.final_output == "ok"
    assert shop.cart == ["apple", "pear", "fig"]
    # Instructions are a function of the (mutated) context.
    assert checkout.model.requests[0].messages[0]["content"] == "Cart of ann: apple, pear"
    result, _ = run_in_mode(runner, checkout, "anything else?", mode)  # a second turn, same object
    assert checkout.model.requests[-1].messages[0]["content"] == "Cart of ann: apple, pear, fig"


def test_dict_context_mutation_across_turns(mode):
    context = {"user": "bob"}
    agent = Agent(name="a", model=ScriptedModel([call("count"), "one", call("count"), "two"]), tools=[count],
                  instructions=lambda ctx: f"calls so far: {ctx.get('calls', 0)}")
    runner = Runner(Session(), context=context)
    run_in_mode(runner, agent, "first", mode)
    assert context == {"user": "bob", "calls": 1}
    run_in_mode(runner, agent, "second", mode)
    assert context == {"user": "bob", "calls": 2}
    assert agent.model.requests[2].messages[0]["content"] == "calls so far: 1"


def test_a_context_of_the_wrong_type_is_refused_before_any_request(mode):
    """Also for a tool reached only through a handoff or an agent used as a tool."""
    helper = Agent(name="helper", model=ScriptedModel([]), tools=[add_to_cart])
    front = Agent(name="front", model=ScriptedModel(["never"]), tools=[helper.as_tool()])
    with pytest.raises(UserError, match="takes the run context as a Shop"):
        run_in_mode(Runner(Session(), context={"user": "ann"}), front, "buy", mode)
    assert front.model.requests == []


def test_a_tool_built_from_a_schema_runs_in_every_mode(mode):
    """`Tool.from_schema`: sync or async function, arguments as keywords, the run context by name."""
    seen = []

    async def lookup(city: str, ctx: dict) -> str:
        seen.append(ctx["user"])
        return f"sunny in {city}"

    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    weather = Tool.from_schema("weather", "Weather.", schema, lookup, context_param="ctx")
    counter = Tool.from_schema("count", "Count.", {"type": "object", "properties": {}}, lambda: 3)
    model = ScriptedModel([[call("weather", city="Oslo"), call("count"), call("weather")], "done"])
    result, _ = run_in_mode(Runner(Session(), context={"user": "ann"}), Agent(name="a", model=model,
                                                                                tools=[weather, counter]), "go", mode)
    assert result.final_output == "done" and seen == ["ann"]
    assert [r.content for r in result.function_calls][:2] == ["sunny in Oslo", "3"]
    assert "city: Field required" in result.function_calls[2].content
    assert model.requests[0].tools[0]["function"]["parameters"] == schema
