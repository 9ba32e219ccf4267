"""Repair and memory strategies: every one keeps tool calls with their results and respects its budget."""

from __future__ import annotations

import random

import pytest
from conftest import run_in_mode
from session_stores import history, tool_turn

from agentsilex import Agent, Runner, Session, tool
from agentsilex.callbacks import keep_most_recent_2_turns, keep_most_recent_turns
from agentsilex.errors import ContextBudgetError, UserError
from agentsilex.history import blocks, pairs_intact, repair_history, turn_starts
from agentsilex.engine.capability import Step
from agentsilex.engine.loop import LoopOptions, Run
from agentsilex.engine.request import build_request
from agentsilex.features.memory import HistoryProcessors
from agentsilex.features.memory import SUMMARY_PREFIX, Compaction, KeepLastTurns, TokenBudget, TrimToolOutputs
from agentsilex.messages import INTERRUPTED
from agentsilex.stores import SQLiteSession
from agentsilex.testing import ScriptedModel, call


def prepare_history(session, strategies):
    """What build_request sends for `session` through `strategies` (no instructions, no tools): its model
    calls (a compaction summary) answered by a plain blocking call, as the sync driver would."""
    agent = Agent(name="probe", model=ScriptedModel([]))
    processors = HistoryProcessors([("memory", strategy) for strategy in strategies])
    run = Run(agent, session, None, "", options=LoopOptions(capabilities=[processors]))
    steps = build_request(run, Step(run, agent, model=agent.model))
    reply = None
    while True:
        try:
            model_call = steps.send(reply)
        except StopIteration as done:
            return done.value.messages
        reply = model_call.model.complete(model_call.request)


def varied_history(seed: int, turns: int = 12) -> list[dict]:
    """Turns with 0-3 tool steps of 1-3 calls each, outputs of random length."""
    rng = random.Random(seed)
    messages: list[dict] = []
    for n in range(turns):
        messages.append({"role": "user", "content": f"question {n} " + "words " * rng.randint(1, 30)})
        for step in range(rng.randint(0, 3)):
            ids = [f"c{n}_{step}_{i}" for i in range(rng.randint(1, 3))]
            messages.append({"role": "assistant", "content": None, "tool_calls": [
                {"id": i, "type": "function", "function": {"name": "look", "arguments": "{}"}} for i in ids]})
            messages += [{"role": "tool", "tool_call_id": i, "content": "output " * rng.randint(1, 200)} for i in ids]
        messages.append({"role": "assistant", "content": f"answer {n}"})
    return messages


# -- repair -------------------------------------------------------------------------------------------------
def test_repair_leaves_healthy_history_untouched():
    healthy = varied_history(1)
    assert repair_history(healthy) is healthy and pairs_intact(healthy)
    reordered = tool_turn(1)
    reordered[2], reordered[3] = reordered[3], reordered[2]  # results in another order than the calls: valid
    assert repair_history(reordered) is reordered


def test_repair_answers_dangling_calls_and_drops_orphans():
    turn = tool_turn(1, calls=3)
    broken = turn[:3] + [{"role": "tool", "tool_call_id": "ghost", "content": "x"}, turn[2]] + \
        [{"role": "user", "content": "next"}, {"role": "tool", "tool_call_id": "c1_1", "content": "late"},
         {"role": "assistant", "content": None}, {"role": "assistant", "content": "hi", "tool_calls": []}]
    repaired = repair_history(broken)
    assert repaired == turn[:3] + [
        {"role": "tool", "tool_call_id": "c1_1", "content": INTERRUPTED},
        {"role": "tool", "tool_call_id": "c1_2", "content": INTERRUPTED},
        {"role": "user", "content": "next"}, {"role": "assistant", "content": ""},
        {"role": "assistant", "content": "hi"}]
    assert repair_history(repaired) is repaired and pairs_intact(repaired)
    assert broken[7] == {"role": "assistant", "content": None}  # input messages are never modified


def test_repair_is_idempotent_on_randomly_damaged_histories():
    for seed in range(40):
        rng = random.Random(seed)
        messages = varied_history(seed, turns=4)
        for _ in range(rng.randint(1, 4)):  # drop, duplicate or move random messages
            index = rng.randrange(len(messages))
            action = rng.choice(["drop", "dup", "move"])
            if action == "drop":
                del messages[index]
            elif action == "dup":
                messages.insert(index, messages[index])
            else:
                messages.insert(rng.randrange(len(messages)), messages.pop(index))
        once = repair_history(messages)
        assert pairs_intact(once) and repair_history(once) == once
        user_messages = [m for m in messages if m["role"] == "user"]
        assert [m for m in once if m["role"] == "user"] == user_messages  # user messages are never dropped


# -- strategies ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("turns", [1, 2, 5, 50])
def test_keep_last_turns_keeps_whole_turns(turns):
    messages = varied_history(3)
    kept = KeepLastTurns(turns)(messages)
    assert pairs_intact(kept) and len(turn_starts(kept)) == min(turns, 12)
    assert kept == messages[len(messages) - len(kept):] and kept[0]["role"] == "user"


@pytest.mark.parametrize("budget", [300, 1000, 2500, 100_000])
def test_token_budget_fits_with_litellms_counter_and_keeps_pairs(budget):
    import litellm

    messages = varied_history(5)
    kept = TokenBudget(budget, model="gpt-4o")(messages)
    assert litellm.token_counter(model="gpt-4o", messages=kept) <= budget
    assert pairs_intact(kept) and kept[0]["role"] == "user" and kept[-1] == messages[-1]
    whole_turns = kept == messages[len(messages) - len(kept):]
    # Otherwise the current turn alone was too big: its user message plus its newest steps, whole.
    assert whole_turns or (kept[0] == messages[turn_starts(messages)[-1]] and
                           kept[1:] == messages[len(messages) - len(kept) + 1:])
    if budget == 100_000:
        assert kept == messages


def test_token_budget_drops_old_steps_of_a_huge_current_turn_or_says_why():
    count = lambda messages: sum(len(str(m.get("content") or "")) + 10 for m in messages)  # noqa: E731
    turn = [{"role": "user", "content": "do it"}]
    for n in range(5):
        turn += tool_turn(n, calls=1)[1:3]
    kept = TokenBudget(60, counter=count)(turn)
    assert kept[0] == turn[0] and pairs_intact(kept) and kept[-2:] == turn[-2:] and count(kept) <= 60
    assert all(len(block) == 2 for block in blocks(kept)[1:])
    with pytest.raises(ContextBudgetError, match="TrimToolOutputs"):
        TokenBudget(20, counter=count)(turn)


def test_trim_tool_outputs_shortens_only_old_results():
    messages = varied_history(7)
    trimmed = TrimToolOutputs(keep_recent=2, max_chars=50)(messages)
    tool_positions = [i for i, m in enumerate(messages) if m["role"] == "tool"]
    for i in tool_positions[:-2]:
        assert len(trimmed[i]["content"]) <= 50 + len("\n[... 99999 more characters of tool output trimmed]")
        assert trimmed[i]["tool_call_id"] == messages[i]["tool_call_id"]
    for i in tool_positions[-2:]:
        assert trimmed[i] is messages[i]
    assert pairs_intact(trimmed) and len(trimmed) == len(messages)
    dropped = TrimToolOutputs(keep_recent=0, max_chars=0)(messages)
    assert all(m["content"].startswith("[tool output removed") for m in dropped if m["role"] == "tool")
    with pytest.raises(UserError):
        TrimToolOutputs(max_chars=-1)


def summarizer(replies):
    return ScriptedModel([f"summary {i}" for i in range(replies)], name="summarizer")


def test_compaction_summarises_old_turns_and_keeps_summary_with_the_session(tmp_path):
    session = SQLiteSession("c", tmp_path / "s.db")
    session.add_new_messages(history(9))
    model = summarizer(2)
    compaction = Compaction(model, keep_turns=2, trigger_turns=4)
    sent = prepare_history(session, [compaction])
    assert sent[0] == {"role": "system", "content": SUMMARY_PREFIX + "summary 0"}
    assert sent[1:] == history(9)[-10:] and pairs_intact(sent[1:])
    assert "question 0" in model.requests[0].messages[1]["content"]
    assert len(session.get_dialogs()) == len(history(9))  # stored history stays complete
    # The summary is kept with the session: a new process reuses it without asking the model again.
    again = prepare_history(SQLiteSession("c", tmp_path / "s.db"), [Compaction(model, keep_turns=2, trigger_turns=4)])
    assert again == sent and len(model.requests) == 1
    session.add_new_messages(history(3))  # past the trigger again: the old summary is merged into a new one
    sent = prepare_history(session, [compaction])
    assert sent[0]["content"] == SUMMARY_PREFIX + "summary 1" and len(turn_starts(sent)) == 2
    assert "Earlier summary:\nsummary 0" in model.requests[1].messages[1]["content"]


def test_compaction_summary_is_dropped_when_the_history_is_rewound():
    session = Session(history(6))
    compaction = Compaction(summarizer(2), keep_turns=1, trigger_turns=3)
    assert prepare_history(session, [compaction])[0]["content"].endswith("summary 0")
    session.dialogs = history(2)  # edited behind the summary's back: it no longer matches, so it is not used
    assert prepare_history(session, [compaction]) == history(2)


@pytest.mark.parametrize("turns", range(1, 15))
def test_compaction_respects_its_turn_budget(turns):
    session = Session()
    compaction = Compaction(ScriptedModel(["s"] * 20), keep_turns=2, trigger_turns=4)
    for n in range(turns):
        session.add_new_messages(tool_turn(n))
        sent = prepare_history(session, [compaction])
        assert len(turn_starts(sent)) <= 4 and pairs_intact([m for m in sent if m["role"] != "system"])


def test_compaction_rewrite_replaces_the_stored_history(tmp_path):
    session = SQLiteSession("c", tmp_path / "s.db")
    session.add_new_messages(history(5))
    sent = prepare_history(session, [Compaction(summarizer(1), keep_turns=2, trigger_turns=3, rewrite=True)])
    assert session.get_dialogs() == sent == [{"role": "system", "content": SUMMARY_PREFIX + "summary 0"}] + \
        history(5)[-10:]
    assert session.get_state("compaction") is None


# -- the hook in a run ---------------------------------------------------------------------------------------
def test_memory_strategies_shape_what_is_sent_not_what_is_stored(mode):
    @tool
    def look() -> str:
        """Look."""
        return "x" * 500

    session = Session(history(6))
    model = ScriptedModel([call("look"), "done"])
    runner = Runner(session, memory=[TrimToolOutputs(keep_recent=1, max_chars=10), KeepLastTurns(2)])
    result, _ = run_in_mode(runner, Agent(name="a", model=model, tools=[look]), "go", mode)
    assert result.final_output == "done"
    last = model.requests[-1].messages
    assert len(turn_starts(last)) == 2 and pairs_intact(last)
    assert last[-1]["content"] == "x" * 500 and all(len(m["content"]) < 80 for m in last[:-1] if m["role"] == "tool")
    assert len(session.dialogs) == len(history(6)) + 4 and session.dialogs[-2]["content"] == "x" * 500


def test_runner_accepts_a_single_strategy_and_rejects_bad_ones():
    model = ScriptedModel(["a", "b"])
    Runner(Session(history(3)), memory=KeepLastTurns(1)).run(Agent(name="a", model=model), "hi")
    assert len(turn_starts(model.requests[0].messages)) == 1
    with pytest.raises(UserError, match="must return"):
        Runner(Session(), memory=[lambda messages, session: None]).run(Agent(name="a", model=model), "hi")


# -- seed-era callbacks ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_keep_most_recent_2_turns_callback_edits_the_session_and_keeps_pairs(store, tmp_path):
    session = Session() if store == "memory" else SQLiteSession("s", tmp_path / "s.db")
    session.add_new_messages(history(5))
    seen = []
    model = ScriptedModel([call("look"), "ok"])

    @tool
    def look() -> str:
        """Look."""
        return "seen"

    callbacks = [keep_most_recent_2_turns, lambda s: seen.append(len(s.dialogs))]
    runner = Runner(session, before_llm_call_callbacks=callbacks)
    runner.run(Agent(name="a", model=model, tools=[look]), "go")
    assert seen == [5 + 1, 5 + 1 + 2]  # the older turns were dropped from the session before the first call
    assert pairs_intact(session.dialogs) and len(turn_starts(session.dialogs)) == 2
    keep_most_recent_turns(session, 1)
    assert session.dialogs[0] == {"role": "user", "content": "go"}


def test_compaction_works_with_any_model_over_http(loopback_server):
    """The summariser is just a Model: here LiteLLM talking HTTP to the loopback server."""
    loopback_server.add_replies(["the user asked six questions", "final answer"])
    session = Session(history(6))
    compaction = Compaction(loopback_server.litellm_model(), keep_turns=1, trigger_turns=3)
    agent = Agent(name="a", model=loopback_server.litellm_model())
    result = Runner(session, memory=[compaction]).run(agent, "and now?")
    assert result.final_output == "final answer"
    summary_request, run_request = loopback_server.requests
    assert "question 0" in summary_request["messages"][1]["content"] and summary_request["max_tokens"] == 1024
    assert run_request["messages"][0]["content"] == SUMMARY_PREFIX + "the user asked six questions"
    assert [m["content"] for m in run_request["messages"] if m["role"] == "user"] == ["and now?"]
