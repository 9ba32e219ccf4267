"""MCP servers that ask the client back, against a real stdio server (examples/mcp_servers/asking.py): sampling
answered by the model you choose within a budget, and elicitation answered by a function or by whoever runs
the agent (`answering`), in all four modes; both off unless asked for."""

from __future__ import annotations

import asyncio
import sys

import pytest

from mcp_support import ASKING_SERVER, require_mcp

require_mcp()

from agentsilex import Agent, Runner  # noqa: E402
from agentsilex.errors import UserError  # noqa: E402
from agentsilex.mcp import MCPServer  # noqa: E402
from agentsilex.mcp.elicitation import Answer, Question, answering  # noqa: E402
from agentsilex.mcp.sampling import Sampling  # noqa: E402
from agentsilex.testing import FunctionModel, call  # noqa: E402

ASKING = {"command": sys.executable, "args": [str(ASKING_SERVER)]}


def summarizer(messages: list[dict], tools: list[dict]) -> str:
    """The client's model for sampling: says what it was sent."""
    return f"[{messages[0]['content']}] {messages[-1]['content'].upper()}"


def test_sampling_is_answered_by_the_chosen_model_within_its_budget():
    sampling = Sampling(FunctionModel(summarizer, name="client-model"), max_requests=2)
    with MCPServer(ASKING, sampling=sampling) as server:
        first = server.call("summarize", {"text": "tea is good"})
        assert first == "summary by client-model: [You summarize.] SUMMARIZE: TEA IS GOOD"
        server.call("summarize", {"text": "again"})
        with pytest.raises(Exception, match="budget spent"):
            server.call("summarize", {"text": "one too many"})
    assert sampling.used_requests == 2 and sampling.used_tokens > 0


def test_sampling_is_off_unless_asked_for():
    with MCPServer(ASKING) as server:
        with pytest.raises(Exception, match="[Ss]ampling"):
            server.call("summarize", {"text": "tea"})


def test_sampling_caps_the_reply_and_is_set_from_a_config_entry():
    seen = []

    def model(messages, tools):
        return "short"

    fake = FunctionModel(model, name="m")
    original = fake.complete_async

    async def spy(request):
        seen.append(request.settings.max_tokens)
        return await original(request)

    fake.complete_async = spy  # type: ignore[method-assign]
    entry = {**ASKING, "sampling": {"model": fake, "max_tokens_per_request": 64}}
    with MCPServer(entry) as server:
        assert server.call("summarize", {"text": "x"}) == "summary by m: short"
    assert seen == [64]  # the server asked for 5,000


def test_elicitation_answered_by_a_function():
    questions: list[Question] = []

    def answer(question: Question) -> dict:
        questions.append(question)
        return {"people": "4", "terrace": "yes"}  # text, as a form gives it: typed by the schema

    with MCPServer(ASKING, elicitation=answer) as server:
        assert server.call("book_table", {"restaurant": "Chez Nous"}) == "booked Chez Nous for 4 on the terrace"
    assert questions[0].message == "How many people at Chez Nous?"
    assert set(questions[0].schema["properties"]) == {"people", "terrace"}


def test_elicitation_off_is_refused_and_ask_with_no_one_to_ask_declines():
    from agentsilex.mcp import MCPToolError

    with MCPServer(ASKING) as server:
        with pytest.raises(MCPToolError, match="Elicitation not supported"):
            server.call("book_table", {"restaurant": "A"})
    with MCPServer(ASKING, elicitation="ask") as server:
        assert server.call("book_table", {"restaurant": "A"}) == "not booked (decline)"


def book(messages: list[dict], tools: list[dict]) -> object:
    """Books a table, then answers with what the tool said."""
    return messages[-1]["content"] if messages[-1]["role"] == "tool" else call("book_table", restaurant="Luigi")


def booking_agent(server: MCPServer) -> Agent:
    return Agent(name="booker", model=FunctionModel(book), tools=server.tools())


def test_elicitation_asks_whoever_runs_the_agent_in_every_mode(mode):
    from conftest import run_in_mode

    asked: list[str] = []

    async def person(question: Question) -> Answer:  # an async asker, as the web chat's is
        asked.append(question.message)
        await asyncio.sleep(0)
        return Answer("accept", {"people": 2})

    with MCPServer(ASKING, elicitation="ask") as server:
        with answering(person):
            result, _ = run_in_mode(Runner(), booking_agent(server), "book", mode)
        assert result.final_output == "booked Luigi for 2 inside" and asked == ["How many people at Luigi?"]
        declined, _ = run_in_mode(Runner(), booking_agent(server), "book", mode)  # outside: no one to ask
        assert declined.final_output == "not booked (decline)"


def test_waiting_for_a_person_does_not_count_against_call_timeout():
    import time

    def slow_person(question: Question) -> dict:
        time.sleep(1.5)
        return {"people": 3}

    with MCPServer(ASKING, elicitation="ask", call_timeout=1.0) as server:
        with answering(slow_person):
            assert server.call("book_table", {"restaurant": "B"}) == "booked B for 3 inside"


def test_bad_options_are_clear_errors():
    with pytest.raises(UserError, match="elicitation="):
        MCPServer(ASKING, elicitation="sometimes")
    with pytest.raises(UserError, match="max_requests"):
        MCPServer(ASKING, sampling={"model": "gpt-4o-mini", "max_requests": 0})
    with pytest.raises(UserError, match="sampling="):
        MCPServer(ASKING, sampling=42)


def test_agentsilex_run_asks_the_question_at_the_prompt(tmp_path):
    import subprocess

    (tmp_path / "booker.py").write_text(
        "import sys\nfrom agentsilex import Agent\nfrom agentsilex.mcp import mcp_tools\n"
        "from agentsilex.testing import FunctionModel, call\n\n"
        "def book(messages, tools):\n"
        "    if messages[-1]['role'] == 'tool':\n        return messages[-1]['content']\n"
        "    return call('book_table', restaurant='Luigi')\n\n"
        f"tools = mcp_tools({ASKING!r}, elicitation='ask')\n"
        "agent = Agent(name='booker', model=FunctionModel(book), tools=tools)\n")
    done = subprocess.run([sys.executable, "-m", "agentsilex.app.cli", "run", "booker.py:agent", "book"], cwd=tmp_path,
                          input="6\ny\n\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "asks: How many people at Luigi?" in done.stdout and "How many people? [integer]" in done.stdout
    assert "booked Luigi for 6 on the terrace" in done.stdout
