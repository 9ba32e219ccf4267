"""The durable driver without an engine: the steps run in process (as DBOS runs them), then the run is replayed from
what they answered, as a durable engine does after a crash, and must ask for exactly the same steps."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from agentsilex import Agent, Runner, tool
from agentsilex.durable import codec
from agentsilex.durable.driver import DurableDriver, run_spec
from agentsilex.durable.steps import Steps
from agentsilex.stores import SQLiteSession
from agentsilex.testing import FunctionModel, call


class Recording:
    """Runs each step for real and records it; decisions for approvals are given at once."""

    def __init__(self, steps: Steps, decide: dict[str, dict]) -> None:
        self.steps, self.decide, self.record = steps, decide, []

    async def step(self, name: str, payload: dict, *, timeout: float | None = None) -> dict:
        entry = [name, payload, None]
        self.record.append(entry)  # in the order the steps start, as an engine records them
        entry[2] = await getattr(self.steps, name)(payload)
        return entry[2]

    async def decisions(self, waiting: list[str], decided: dict[str, dict]) -> None:
        decided.update({call_id: self.decide.get(call_id, {"approved": True}) for call_id in waiting})

    def unrestricted(self) -> Any:
        return contextlib.nullcontext()


class Replaying(Recording):
    """Answers every step from the record, checking the run asks for the very same steps."""

    def __init__(self, record: list) -> None:
        super().__init__(None, {})
        self.recorded = list(record)

    async def step(self, name: str, payload: dict, *, timeout: float | None = None) -> dict:
        expected_name, expected_payload, done = self.recorded.pop(0)
        assert (name, payload) == (expected_name, expected_payload)
        return done


@tool
def lookup(order: str) -> str:
    """Look an order up."""
    return f"order {order}: shipped"


@tool(needs_approval=True)
def cancel(order: str) -> str:
    """Cancel an order."""
    return f"cancelled {order}"


def brain(messages: list[dict], tools: list[dict]) -> Any:
    done = [m for m in messages if m["role"] == "tool"]
    if not done:
        return [call("lookup", order="A1"), call("lookup", order="B2")]
    if len(done) == 2:
        return call("cancel", order="A1")
    return "A1 is cancelled; B2 has shipped."


def test_a_run_replayed_from_its_steps_takes_the_same_path_and_matches_a_plain_run(tmp_path):
    agent = Agent(name="orders", model=FunctionModel(brain), instructions="You handle orders.",
                  tools=[lookup, cancel])
    steps = Steps([agent], f"sqlite:///{tmp_path / 'durable.db'}")
    spec = run_spec(agent, "Cancel A1, and where is B2?", "s", run_id="r1", stream=False, context=None,
                    max_turns=None)
    recording = Recording(steps, {})
    data = asyncio.run(DurableDriver(recording, spec, agent, {}).run())
    names = [name for name, _, _ in recording.record]
    assert names == ["begin", "model", "tool", "tool", "model", "finish", "tool", "model", "finish"]
    assert asyncio.run(DurableDriver(Replaying(recording.record), spec, agent, {}).run()) == data
    durable = SQLiteSession("s", tmp_path / "durable.db").get_dialogs()
    plain_session = SQLiteSession("s", tmp_path / "plain.db")
    runner = Runner(plain_session)
    paused = runner.run(agent, "Cancel A1, and where is B2?")
    runner.run(agent, paused.state.approve(paused.pending_approvals[0].call_id))
    shape = [(m["role"], m.get("content")) for m in durable]
    assert shape == [(m["role"], m.get("content")) for m in plain_session.get_dialogs()]
    assert data["final_output"] == "A1 is cancelled; B2 has shipped." and len(data["function_calls"]) == 3


def test_the_digest_rolls_and_large_strings_go_by_reference():
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    assert codec.digest(messages) == codec.digest(messages[1:], codec.digest(messages[:1]))
    kept: dict[str, str] = {}
    value = {"text": "z" * 70_000, "small": "ok"}
    sent = codec.offload(value, kept.__setitem__)
    assert sent["small"] == "ok" and sent["text"].startswith(codec.BLOB) and len(str(sent)) < 200
    assert codec.restore(sent, kept.__getitem__) == value


def test_an_image_from_a_tool_goes_by_reference_and_is_stored_whole(tmp_path):
    from agentsilex import Image

    picture = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 400  # ~100 KB: over the 64 KiB a step carries inline

    @tool
    def chart() -> list:
        """Draw the chart."""
        return ["sales by month", Image.from_bytes(picture, "image/png")]

    def model(messages: list[dict], tools: list[dict]) -> Any:
        return call("chart") if not any(m["role"] == "tool" for m in messages) else "Sales rose."

    agent = Agent(name="analyst", model=FunctionModel(model), tools=[chart])
    steps = Steps([agent], f"sqlite:///{tmp_path / 'd.db'}")
    spec = run_spec(agent, "Chart it", "img", run_id="r", stream=False, context=None, max_turns=None)
    recording = Recording(steps, {})
    asyncio.run(DurableDriver(recording, spec, agent, {}).run())
    assert max(len(str(payload)) + len(str(done)) for _, payload, done in recording.record) < 20_000
    stored = SQLiteSession("img", tmp_path / "d.db").get_dialogs()
    url = stored[3]["content"][1]["image_url"]["url"]
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "user", "assistant"]
    assert url.startswith("data:image/png;base64,") and len(url) > 130_000 and codec.BLOB not in str(stored)
    sent = agent.model.requests[1].messages
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "user"]  # no instructions: no system prompt
    assert sent[-1]["content"][1]["image_url"]["url"] == url  # the model saw the image itself


def test_budgets_count_the_usage_each_step_brings_back(tmp_path):
    import pytest

    from agentsilex import RunLimits, UsageLimitExceeded, UserError

    agent = Agent(name="orders", model=FunctionModel(brain), tools=[lookup, cancel])
    steps = Steps([agent], f"sqlite:///{tmp_path / 'd.db'}")
    spec = run_spec(agent, "Where are A1 and B2?", "b", run_id="r", stream=False, context=None, max_turns=None)
    with pytest.raises(UsageLimitExceeded, match="max_tool_calls"):
        asyncio.run(DurableDriver(Recording(steps, {}), spec, agent, {"limits": RunLimits(max_tool_calls=1)}).run())
    with pytest.raises(UserError, match="memory"):  # would see this run's messages, not the conversation
        from agentsilex import KeepLastTurns

        asyncio.run(DurableDriver(Recording(steps, {}), spec, agent, {"memory": [KeepLastTurns(2)]}).run())


def test_agents_used_as_tools_side_by_side_run_their_steps_in_rounds(tmp_path):
    def helper_brain(messages: list[dict], tools: list[dict]) -> Any:
        if not any(m["role"] == "tool" for m in messages):
            return call("lookup", order=messages[-1]["content"])
        return f"checked {messages[0]['content']}"

    helper_a = Agent(name="helper_a", model=FunctionModel(helper_brain), tools=[lookup])
    helper_b = Agent(name="helper_b", model=FunctionModel(helper_brain), tools=[lookup])

    def boss_brain(messages: list[dict], tools: list[dict]) -> Any:
        if not any(m["role"] == "tool" for m in messages):
            return [call("ask_a", input="A1"), call("ask_b", input="B2"), call("lookup", order="C3")]
        return "all checked"

    boss = Agent(name="boss", model=FunctionModel(boss_brain),
                 tools=[helper_a.as_tool(tool_name="ask_a"), helper_b.as_tool(tool_name="ask_b"), lookup])
    steps = Steps([boss], f"sqlite:///{tmp_path / 'd.db'}")
    spec = run_spec(boss, "check all", "n", run_id="r", stream=False, context=None, max_turns=None)
    recording = Recording(steps, {})
    data = asyncio.run(DurableDriver(recording, spec, boss, {}).run())
    assert asyncio.run(DurableDriver(Replaying(recording.record), spec, boss, {}).run()) == data
    assert [c["content"] for c in data["function_calls"]] == ["checked A1", "checked B2", "order C3: shipped"]
    assert [r["agent"] for r in data["usage"]["per_request"]].count("helper_a") == 2
    assert sorted(p["agent"] for n, p, _ in recording.record if n == "tool") == ["boss", "helper_a", "helper_b"]
