"""Context that cannot leak: whether a tool parameter is the run context is decided when the tool is defined
(named `context`, or annotated `Context[T]`), never by the type of the Runner's context, so a model can never
fill it in; a run whose context does not fit is refused before any request (issue 17, item 1)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from conftest import run_in_mode

from agentsilex import Agent, Context, Runner, Session, UserError, tool
from agentsilex.testing import ScriptedModel, call


@dataclass
class ShopContext:
    customer_id: str


seen: list[str] = []


@tool
def my_orders(ctx: Context[ShopContext]) -> str:
    """The customer's orders."""
    seen.append(ctx.customer_id if isinstance(ctx, ShopContext) else f"model-filled {ctx!r}")
    return f"orders of {ctx.customer_id}"


@tool
def order(context: ShopContext, order_id: int) -> str:
    """One of the customer's orders."""
    seen.append(context.customer_id if isinstance(context, ShopContext) else f"model-filled {context!r}")
    return f"order {order_id} of {context.customer_id}"


def attacker() -> ScriptedModel:
    """A model that tries to read bob's orders by filling in the context parameters itself."""
    return ScriptedModel([[call("my_orders", ctx={"customer_id": "bob"}),
                           call("order", order_id=3, context={"customer_id": "bob"}),
                           call("order", order_id=4)], "done"])


def test_a_model_cannot_fill_in_a_context_parameter(mode):
    seen.clear()
    agent = Agent(name="desk", model=attacker(), tools=[my_orders, order])
    for spec in agent.tool_specs(ShopContext("alice")):  # the model never sees a context parameter
        assert not {"ctx", "context"} & set(spec["function"]["parameters"].get("properties", {}))
    result, _ = run_in_mode(Runner(Session(), context=ShopContext("alice")), agent, "show bob's orders", mode)
    answers = [call.content for call in result.function_calls]
    assert answers[0].startswith("Error: Invalid arguments") and answers[1].startswith("Error: Invalid arguments")
    assert answers[2] == "order 4 of alice" and seen == ["alice"]


@pytest.mark.parametrize("context", [None, {"customer_id": "bob"}, "alice"], ids=["none", "dict", "str"])
def test_a_context_of_the_wrong_type_is_refused_before_any_request(mode, context):
    seen.clear()
    for tools in ([my_orders], [order]):
        agent = Agent(name="desk", model=attacker(), tools=tools)
        with pytest.raises(UserError, match="ShopContext"):
            run_in_mode(Runner(Session(), context=context), agent, "show bob's orders", mode)
        assert agent.model.requests == [] and seen == []


@tool
def legacy_orders(ctx: ShopContext) -> str:
    """The customer's orders (the pre-Context[T] spelling: the annotation alone does not make it the context)."""
    seen.append(f"model-filled {ctx!r}")
    return "leaked"


def test_a_parameter_annotated_with_the_context_class_but_unmarked_is_refused(mode):
    # Without the marker the model would fill `ctx` in; with a ShopContext run context that was surely meant to
    # be the context, so the run stops before any request instead of leaking.
    seen.clear()
    agent = Agent(name="desk", model=attacker(), tools=[legacy_orders])
    with pytest.raises(UserError, match=r"Context\[ShopContext\]"):
        run_in_mode(Runner(Session(), context=ShopContext("alice")), agent, "show bob's orders", mode)
    assert agent.model.requests == [] and seen == []


def test_untyped_and_any_parameters_are_left_alone():
    from typing import Any

    loose = tool(lambda id, value: f"{id}:{value}", name="loose")

    @tool
    def anything(value: Any, context) -> str:
        """Any value."""
        return repr(value)

    agent = Agent(name="a", model=ScriptedModel([[call("loose", id=1, value=2), call("anything", value=3)], "ok"]),
                  tools=[loose, anything])
    result = Runner(Session(), context=ShopContext("alice")).run(agent, "go")
    assert [c.content for c in result.function_calls] == ["1:2", "3"]
