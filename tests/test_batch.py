"""Batch runs through the (emulated) OpenAI Batch API: the same results as ordinary runs, side by side; a failed
item fails only its run; a job resumes after a crash; cost at the batch price; evaluation and the CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from agentsilex import Agent, Runner, Session, UserError, tool
from agentsilex.batch import BatchRequestUsage, BatchResumeError
from agentsilex.errors import ModelBadRequestError
from agentsilex.evaluation import AgentEvaluator, DialogTurn, EvalCase, EvalSet, ResponseMatchEvaluator, \
    SimilarityMetric, ToolTrajectoryEvaluator, ToolUsage
from agentsilex.stores import SQLiteSession
from agentsilex.testing import Fail, LoopbackServer, ScriptedModel, call

HERE = Path(__file__).parent


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def worker(messages: list[dict], tools: list[dict]):
    """"sum N K": add(N, 1), add(N, 2), ... K times (a model call each), then the total; ids from the prompt, so
    ordinary and batch runs store identical sessions. "fail N" gets a 400; "flaky N" a 500 the first time."""
    prompt = next(m["content"] for m in reversed(messages) if m["role"] == "user")
    verb, number, *rest = prompt.split()
    done = [m for m in messages[messages.index(next(m for m in reversed(messages) if m["role"] == "user")):]
            if m["role"] == "tool"]
    if verb == "fail":
        return Fail(400, "this prompt is refused")
    if verb == "flaky" and not worker.flaked.get(prompt):
        worker.flaked[prompt] = True
        return Fail(500, "try again")
    steps = int(rest[0]) if rest else 1
    if len(done) < steps:
        return call("add", a=int(number), b=len(done) + 1, call_id=f"c{number}-{len(done)}")
    return f"total: {sum(int(m['content']) for m in done)}"


worker.flaked = {}


@pytest.fixture
def server():
    worker.flaked.clear()
    with LoopbackServer(function=worker) as running:
        yield running


def agent_on(server: LoopbackServer, **options) -> Agent:
    return Agent(name="adder", model=server.openai_model("gpt-4o-mini"), tools=[add], **options)


def batch_bodies(server: LoopbackServer) -> list[dict]:
    """The body of every line of every batch the server was given."""
    return [json.loads(line)["body"] for batch in server.batches.batches.values()
            for line in server.batches.files[batch["input_file_id"]]["data"].decode().splitlines()]


def test_batch_runs_are_the_ordinary_runs_side_by_side(server):
    prompts = [f"sum {n} {1 + n % 3}" for n in range(30)]
    agent = agent_on(server)
    alone = [Runner(Session()).run(agent, prompt) for prompt in prompts]
    sent_alone = list(server.requests)
    batch = Runner().run_batch(agent, prompts, poll_interval=0.01)
    assert not batch.errors and batch.rounds == 4  # the longest run makes three tool calls: four model calls
    for one, other in zip(alone, batch):
        assert other.final_output == one.final_output
        assert other.new_messages == one.new_messages  # stored as if it ran alone
        assert [(c.name, c.arguments, c.content) for c in other.function_calls] == \
            [(c.name, c.arguments, c.content) for c in one.function_calls]
        assert (other.usage.requests, other.usage.input_tokens, other.usage.output_tokens) == \
            (one.usage.requests, one.usage.input_tokens, one.usage.output_tokens)
    assert [run.session.dialogs for run in batch.runs] == [r.new_messages for r in alone]
    key = lambda body: json.dumps(body, sort_keys=True)  # noqa: E731
    assert sorted(map(key, batch_bodies(server))) == sorted(map(key, sent_alone))  # what the native path sends


def test_cost_is_reported_at_the_batch_price(server):
    batch = Runner().run_batch(agent_on(server), ["sum 1 2", "sum 2 1"], poll_interval=0.01)
    assert all(isinstance(r, BatchRequestUsage) for run in batch for r in run.usage.per_request)
    assert batch.full_price_usd > 0 and batch.cost_usd == pytest.approx(batch.full_price_usd / 2)
    assert batch[0].usage.cost_usd == pytest.approx(Runner().run(agent_on(server), "sum 1 2").usage.cost_usd / 2)


def test_a_failed_item_fails_only_its_run_and_a_transient_one_is_retried(server):
    batch = Runner().run_batch(agent_on(server), ["sum 1 2", "fail 2", "flaky 3", "sum 4 1"], poll_interval=0.01)
    assert [r.final_output if r else None for r in batch] == ["total: 5", None, "total: 4", "total: 5"]
    assert list(batch.errors) == [1] and isinstance(batch.errors[1], ModelBadRequestError)
    assert "this prompt is refused" in str(batch.errors[1])
    assert batch.runs[1].session.dialogs == [{"role": "user", "content": "fail 2"}]  # nothing half-stored
    flaky_lines = [b for b in batch_bodies(server) if b["messages"][-1]["content"] == "flaky 3"]
    assert len(flaky_lines) == 2  # asked again in the next round


def test_lines_a_batch_did_not_answer_in_time_are_sent_again(server):
    server.batches.expire_next = 1  # the first batch answers one line, then expires
    batch = Runner().run_batch(agent_on(server), ["sum 1 1", "sum 2 1", "sum 3 1"], poll_interval=0.01)
    assert [r.final_output for r in batch] == ["total: 2", "total: 3", "total: 4"]
    statuses = sorted(b["status"] for b in server.batches.batches.values())
    assert statuses.count("expired") == 1


def test_a_run_that_raises_fails_alone(server):
    @tool
    def explode() -> str:
        """Fails."""
        raise RuntimeError("boom")

    broken = Agent(name="broken", model=server.openai_model("gpt-4o-mini"), tools=[explode, add])
    server.model.function = lambda m, t: call("explode", call_id="x1") if m[-1]["content"] == "boom" else worker(m, t)
    batch = Runner(raise_tool_errors=True).run_batch(broken, ["boom", "sum 1 2"], poll_interval=0.01)
    assert list(batch.errors) == [0] and "boom" in str(batch.errors[0])
    assert batch[1].final_output == "total: 5"


class Total(BaseModel):
    total: int
    steps: int


def test_structured_output_handoffs_and_agents_side_by_side(server):
    checker = Agent(name="checker", model=server.openai_model("gpt-4o-mini"), tools=[add])
    closer = Agent(name="closer", model=server.openai_model("gpt-4o-mini"), output_type=Total)
    lead = Agent(name="lead", model=server.openai_model("gpt-4o-mini"), handoffs=[closer],
                 tools=[checker.as_tool("check", "Check a sum."), checker.as_tool("recheck", "Check it again.")])

    def script(messages, tools):
        names = [t["function"]["name"] for t in tools]
        if "check" in names:  # the lead: both checkers at once, then hand off
            if messages[-1]["role"] == "user":
                return [call("check", input="sum 5 1", call_id="k1"), call("recheck", input="sum 6 1", call_id="k2")]
            return call("transfer_to_closer", call_id="h1")
        if any(m["role"] == "tool" and m["content"] == "Transferred to closer." for m in messages) or \
                not names:
            return '{"total": 13, "steps": 2}'
        return worker(messages, tools)

    server.model.function = script
    alone = Runner(Session()).run(lead, "go")
    batch = Runner().run_batch(lead, ["go", "go"], poll_interval=0.01)
    assert not batch.errors
    assert batch[0].final_output == alone.final_output == Total(total=13, steps=2)
    assert batch[1].last_agent.name == "closer"
    assert batch.runs[0].session.dialogs == alone.new_messages


def test_bad_calls_say_what_to_do(server):
    agent = agent_on(server)
    with pytest.raises(UserError, match="provider"):
        Runner().run_batch(agent, ["x"], provider="gemini")
    with pytest.raises(UserError, match="at least one prompt"):
        Runner().run_batch(agent, [])
    with pytest.raises(UserError, match="name"):
        Runner().run_batch(agent, ["x"], name="has spaces")
    with pytest.raises(UserError, match="one per prompt"):
        Runner().run_batch(agent, ["x", "y"], sessions=[Session()])
    refused = Runner().run_batch(Agent(name="s", model=ScriptedModel(["hi"])), ["x", "y"], poll_interval=0.01)
    assert refused.rounds == 0 and len(refused.errors) == 2  # each run fails at once: nothing was sent
    assert isinstance(refused.errors[0], UserError) and "cannot go through OpenAI's batch API" in str(refused.errors[0])


# -- resuming after a crash ----------------------------------------------------------------------------------
CRASHING = """
import sys
from agentsilex import Agent, Runner, tool
from agentsilex.models.openai_http import OpenAIHTTPModel
from agentsilex.stores import SQLiteSession
url, db, log = sys.argv[1:4]

@tool
def add(a: int, b: int) -> int:
    '''Add two numbers.'''
    with open(log, "a") as handle:
        handle.write(f"{a}+{b}\\n")
    return a + b

agent = Agent(name="adder", model=OpenAIHTTPModel("gpt-4o-mini", base_url=url, api_key="sk-test"), tools=[add])
prompts = [f"sum {n} 3" for n in range(6)]
Runner().run_batch(agent, prompts, name="nightly", sessions=lambda i: SQLiteSession(f"nightly-{i}", db),
                   poll_interval=0.05)
"""


def test_a_job_resumes_after_a_crash_from_the_store_and_the_provider(tmp_path):
    db, log = tmp_path / "runs.db", tmp_path / "tools.log"
    worker.flaked.clear()
    with LoopbackServer(function=worker, batch_delay=0.6) as server:
        crashing = subprocess.Popen([sys.executable, "-c", CRASHING, server.url, str(db), str(log)])
        deadline = time.monotonic() + 60
        while len(server.batches.batches) < 2 and time.monotonic() < deadline:  # round 2 is in flight
            time.sleep(0.02)
        crashing.send_signal(signal.SIGKILL)  # no clean-up at all
        crashing.wait()
        ran_before = log.read_text().splitlines()
        assert len(ran_before) == 6  # round 1's tools ran and were stored
        agent = Agent(name="adder", model=server.openai_model("gpt-4o-mini"), tools=[_logged(log)])
        prompts = [f"sum {n} 3" for n in range(6)]
        batch = Runner().run_batch(agent, prompts, name="nightly", poll_interval=0.05,
                                   sessions=lambda i: SQLiteSession(f"nightly-{i}", str(db)))
        lines = batch_bodies(server)
        assert not batch.errors, batch.errors
        assert [r.final_output for r in batch] == [f"total: {3 * n + 6}" for n in range(6)]
        assert sorted(log.read_text().splitlines()) == sorted(f"{n}+{k}" for n in range(6) for k in (1, 2, 3))  # once
        assert len(lines) == 6 * 4  # nothing was asked twice: round 2 was waited for, not sent again
        alone = Runner(Session()).run(Agent(name="adder", model=agent.model, tools=[add]), "sum 4 3")
        assert SQLiteSession("nightly-4", str(db)).dialogs == alone.new_messages
        again = Runner().run_batch(agent, prompts, name="nightly", poll_interval=0.05,
                                   sessions=lambda i: SQLiteSession(f"nightly-{i}", str(db)))
        assert [r.final_output for r in again] == [r.final_output for r in batch]  # a finished job: from both
        assert len(batch_bodies(server)) == 6 * 4  # the finished job was rebuilt without a new batch


def _logged(log: Path):
    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        with open(log, "a") as handle:
            handle.write(f"{a}+{b}\n")
        return a + b

    return add


def test_a_session_changed_since_the_job_began_is_refused(server, tmp_path):
    db = str(tmp_path / "runs.db")
    agent = agent_on(server)
    Runner().run_batch(agent, ["sum 1 1"], name="job", sessions=lambda i: SQLiteSession(f"job-{i}", db),
                       poll_interval=0.01)
    session = SQLiteSession("job-0", db)
    session.dialogs = [session.dialogs[0], {"role": "assistant", "content": "something else"}]
    batch = Runner().run_batch(agent, ["sum 1 1"], name="job", sessions=lambda i: SQLiteSession(f"job-{i}", db),
                               poll_interval=0.01)
    assert isinstance(batch.errors[0], BatchResumeError) and "changed since the batch began" in str(batch.errors[0])


# -- evaluation and the command line ---------------------------------------------------------------------------
def _eval_set(count: int) -> EvalSet:
    cases = []
    for n in range(count):
        steps = 1 + n % 3
        total = sum(n + k for k in range(1, steps + 1))
        turns = [DialogTurn(user_utterance=f"sum {n} {steps}", agent_response=f"total: {total}",
                            tools_used=[ToolUsage(name="add", arguments={"a": n, "b": k})
                                        for k in range(1, steps + 1)])]
        if n % 4 == 0:  # a second turn on the same session
            turns.append(DialogTurn(user_utterance=f"sum {n + 1} 1", agent_response=f"total: {n + 2}",
                                    tools_used=[ToolUsage(name="add", arguments={"a": n + 1, "b": 1})]))
        cases.append(EvalCase(eval_id=f"case-{n}", dialog_session=turns))
    return EvalSet(cases=cases)


def test_an_eval_set_of_200_multi_step_cases_runs_as_a_batch_with_the_same_results(server):
    evaluators = lambda: [ResponseMatchEvaluator(1.0, metric=SimilarityMetric("exact")),  # noqa: E731
                          ToolTrajectoryEvaluator(1.0)]
    cases = _eval_set(200)
    cases.cases[7].dialog_session[0].user_utterance = "fail 7"  # one case fails, alone, in both
    ordinary = AgentEvaluator(agent_on(server), evaluators(), concurrency=4).evaluate(cases)
    batched = AgentEvaluator(agent_on(server), evaluators(), batch="openai",
                             batch_options={"poll_interval": 0.01}).evaluate(cases)
    assert ordinary.passed_cases == batched.passed_cases == 199
    for one, other in zip(ordinary.case_results, batched.case_results):
        assert (other.eval_id, other.passed, other.actual_turns) == (one.eval_id, one.passed, one.actual_turns)
        assert (other.requests, other.input_tokens, other.output_tokens) == \
            (one.requests, one.input_tokens, one.output_tokens)
    assert batched.case_results[7].error.startswith("turn 1: ModelBadRequestError")
    assert batched.batch["rounds"] == 4 + 2 and batched.batch["full_price_usd"] > 0  # turn 1: 4 rounds, turn 2: 2
    assert batched.cost_usd == pytest.approx(batched.batch["full_price_usd"] / 2)  # half price


def test_the_batch_command(server, tmp_path, monkeypatch):
    from agentsilex.app.cli import app

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    agent_file = tmp_path / "adder.py"
    agent_file.write_text("from agentsilex import Agent, tool\n\n@tool\ndef add(a: int, b: int) -> int:\n"
                          "    '''Add two numbers.'''\n    return a + b\n\n"
                          "agent = Agent(name='adder', model='gpt-4o-mini', tools=[add])\n")
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('"sum 1 2"\n{"prompt": "sum 2 1", "id": "second"}\n{"prompt": "fail 3"}\n')
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["batch", f"{agent_file}:agent", str(prompts), "--base-url", server.url,
                                      "--poll-interval", "0.01", "--out", str(out), "--name", "cli-job",
                                      "--store", f"sqlite:///{tmp_path / 'runs.db'}"])
    assert result.exit_code == 1, result.output  # one run failed
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(l["id"], l["final_output"]) for l in lines] == [("0", "total: 5"), ("second", "total: 3"), ("2", None)]
    assert "ModelBadRequestError" in lines[2]["error"] and lines[0]["usage"]["cost_usd"] > 0
    assert "2/3 runs done, 1 failed" in result.stderr and "at the batch price" in result.stderr
    assert SQLiteSession("cli-job-second", str(tmp_path / "runs.db")).dialogs[-1]["content"] == "total: 3"


# -- Anthropic's message batches -----------------------------------------------------------------------------
def anthropic_agent(server: LoopbackServer, tools=None) -> Agent:
    from agentsilex.models.litellm import LiteLLMModel

    model = LiteLLMModel("anthropic/claude-sonnet-4-5", base_url=server.url.removesuffix("/v1"), api_key="sk-ant-x")
    return Agent(name="adder", model=model, tools=tools or [add])


def test_anthropic_message_batches_store_what_a_run_alone_stores(server):
    prompts = ["sum 1 2", "fail 2", "sum 3 1"]
    batch = Runner().run_batch(anthropic_agent(server), prompts, provider="anthropic", poll_interval=0.01)
    alone = Runner(Session()).run(agent_on(server), "sum 1 2")  # the same script, one by one
    assert list(batch.errors) == [1] and "this prompt is refused" in str(batch.errors[1])
    assert batch.runs[0].session.dialogs == alone.new_messages and batch[2].final_output == "total: 4"
    sent = [r for r in server.requests if r["model"] == "claude-sonnet-4-5"]
    assert sent[0]["tools"][0]["function"]["name"] == "add"  # Anthropic's params, as LiteLLM writes them
    assert batch.cost_usd == pytest.approx(batch.full_price_usd / 2)


class Crash(BaseException):
    """Stands for the process dying in the middle of a job."""


def test_a_resumed_anthropic_job_finds_its_batch_in_flight_in_the_sessions_notes(tmp_path):
    db, log = str(tmp_path / "runs.db"), tmp_path / "tools.log"
    worker.flaked.clear()
    sessions = lambda i: SQLiteSession(f"job-{i}", db)  # noqa: E731
    prompts = [f"sum {n} 2" for n in range(3)]

    def crash_in_round_two(info: dict) -> None:
        if info["event"] == "submitted" and info["round"] == 2:
            raise Crash()

    with LoopbackServer(function=worker, batch_delay=0.3) as server:
        agent = anthropic_agent(server, tools=[_logged(log)])
        with pytest.raises(Crash):
            Runner().run_batch(agent, prompts, provider="anthropic", name="job", sessions=sessions,
                               poll_interval=0.01, progress=crash_in_round_two)
        assert len(server.batches.batches) == 2
        batch = Runner().run_batch(agent, prompts, provider="anthropic", name="job", sessions=sessions,
                                   poll_interval=0.01)
        assert [r.final_output for r in batch] == [f"total: {2 * n + 3}" for n in range(3)]
        assert len(server.batches.batches) == 3  # round 2 was waited for, not sent again; round 3 is new
        assert sorted(log.read_text().splitlines()) == sorted(f"{n}+{k}" for n in range(3) for k in (1, 2))


def test_rate_limits_do_not_hold_back_a_batch(server):
    from agentsilex import RateLimits

    started = time.monotonic()
    batch = Runner(rate_limits=RateLimits({"*": {"rpm": 1}})).run_batch(agent_on(server), ["sum 1 1", "sum 2 1"],
                                                                       poll_interval=0.01)
    assert [r.final_output for r in batch] == ["total: 2", "total: 3"] and time.monotonic() - started < 5
