"""agentsilex.evaluation: metrics on hand-made cases with known scores, the judge, the evaluator, reports."""

from __future__ import annotations

import json
import re
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from rouge_score import rouge_scorer

from agentsilex import Agent, ModelSettings, Runner, tool
from agentsilex.errors import UserError
from agentsilex.evaluation import (AgentEvaluator, DialogTurn, EvalCase, EvalSet, FunctionEvaluator, JudgeVerdict,
                                   LLMJudgeEvaluator, ResponseMatchEvaluator, RubricBasedEvaluator, SimilarityMetric,
                                   ToolTrajectoryEvaluator, ToolUsage, TrajectoryMatch, case_from_messages,
                                   case_from_session, format_table, to_html, to_json)
from agentsilex.testing import FunctionModel, ScriptedModel, call

EXAMPLES = Path(__file__).parent.parent / "examples"


def turn(response: str = "", *calls: tuple[str, dict | str], user: str = "q") -> DialogTurn:
    return DialogTurn(user_utterance=user, agent_response=response,
                      tools_used=[ToolUsage(name=n, arguments=a if isinstance(a, str) else json.dumps(a))
                                  for n, a in calls])


# --- response match -----------------------------------------------------------------------------------------

PAIRS = [("The weather in Paris is sunny.", "The weather in Paris is SUNNY."),
         ("It is raining heavily in Tokyo with thunderstorms expected.", "The weather in Tokyo is SUNNY."),
         ("Running dogs ran quickly", "the dog runs quick and fast"),
         ("a b c d e f", "f e d c b a")]


@pytest.mark.parametrize("metric", [SimilarityMetric.ROUGE_1, SimilarityMetric.ROUGE_2, SimilarityMetric.ROUGE_L])
@pytest.mark.parametrize("stemmer", [True, False])
def test_rouge_scores_equal_rouge_score_itself(metric, stemmer):
    reference = rouge_scorer.RougeScorer([metric.value], use_stemmer=stemmer)
    evaluator = ResponseMatchEvaluator(threshold=0.5, metric=metric, use_stemmer=stemmer)
    for expected, actual in PAIRS:
        want = reference.score(expected, actual)[metric.value].fmeasure
        assert evaluator.similarity(actual, expected) == pytest.approx(want)
    assert 0 < evaluator.similarity(PAIRS[1][1], PAIRS[1][0]) < 1


def test_response_match_known_scores_and_thresholds():
    rouge1 = ResponseMatchEvaluator(threshold=0.6)
    result = rouge1.evaluate([turn("The weather in Tokyo is SUNNY."), turn("no idea")],
                             [turn("The weather in Tokyo is SUNNY."), turn("The weather in Rome is SUNNY.")])
    assert [t.score for t in result.turn_results] == [1.0, 0.0]
    assert [t.passed for t in result.turn_results] == [True, False]
    assert result.score == 0.5 and not result.passed
    exact = ResponseMatchEvaluator(threshold=1.0, metric=SimilarityMetric.EXACT)
    assert exact.similarity("  The  answer\nis 4 ", "the answer is 4") == 1.0
    assert exact.similarity("the answer is 4.", "the answer is 4") == 0.0
    assert rouge1.similarity("", "") == 1.0 and rouge1.similarity("", "text") == 0.0
    assert ResponseMatchEvaluator().evaluate([], []).passed is False


# --- tool trajectories --------------------------------------------------------------------------------------

A, B, C = ("search", {"q": "x"}), ("fetch", {"url": "u"}), ("save", {"path": "p", "ts": 1})
CASES = [  # actual calls, expected calls, then the score per mode: exact, in_order, any_order, subset
    ([A, B], [A, B], (1, 1, 1, 1)),
    ([B, A], [A, B], (0, 0, 1, 1)),
    ([A, C, B], [A, B], (0, 1, 0, 1)),
    ([C, B, A], [A, B], (0, 0, 0, 1)),
    ([A], [A, B], (0, 0, 0, 0)),
    ([A, A], [A], (0, 1, 0, 1)),
    ([A], [A, A], (0, 0, 0, 0)),
    ([], [], (1, 1, 1, 1)),
    ([A], [], (0, 1, 0, 1)),
]


@pytest.mark.parametrize("actual,expected,scores", CASES)
def test_trajectory_modes(actual, expected, scores):
    for mode, score in zip(TrajectoryMatch, scores):
        result = ToolTrajectoryEvaluator(threshold=1.0, match=mode).evaluate([turn("", *actual)], [turn("", *expected)])
        assert result.score == score, (mode, actual, expected)
        assert result.passed is bool(score)
        if not score:
            assert result.turn_results[0].detail.startswith("expected ")


def test_trajectory_argument_rules():
    actual = [turn("", ("save", {"path": "p", "ts": 99}), ("search", {"q": "X "}))]
    expected = [turn("", ("save", {"path": "p", "ts": 1}), ("search", {"q": "x"}))]
    assert ToolTrajectoryEvaluator(threshold=1.0).evaluate(actual, expected).score == 0
    assert ToolTrajectoryEvaluator(threshold=1.0, arguments=False).evaluate(actual, expected).score == 1
    assert ToolTrajectoryEvaluator(threshold=1.0, ignore_arguments=["ts", "q"]).evaluate(actual, expected).score == 1
    per_tool = ToolTrajectoryEvaluator(threshold=1.0, ignore_arguments={"save": ["ts"]})
    assert per_tool.evaluate(actual, expected).score == 0  # the search query still differs

    def loose(name, got, want):
        return name == "save" or got["q"].strip().lower() == want["q"]

    assert ToolTrajectoryEvaluator(threshold=1.0, arguments=loose).evaluate(actual, expected).score == 1
    # 1.0's JSON stores arguments as a string; a dict, key order and non-JSON text are handled too
    assert ToolUsage(name="t", arguments='{"b": 1, "a": 2}').arguments_dict() == {"a": 2, "b": 1}
    assert ToolUsage(name="t", arguments="not json").arguments_dict() == {"raw": "not json"}
    with pytest.raises(UserError, match="match must be one of"):
        ToolTrajectoryEvaluator(match="sometimes")


def test_custom_evaluators_are_plain_functions():
    def mentions_city(actual: DialogTurn, expected: DialogTurn) -> bool:
        return "Paris" in actual.agent_response

    result = FunctionEvaluator(mentions_city).evaluate([turn("Paris: sun"), turn("sun")], [turn(), turn()])
    assert (FunctionEvaluator(mentions_city).name, result.score, result.passed) == ("mentions_city", 0.5, False)
    with pytest.raises(UserError, match="return a number"):
        FunctionEvaluator(lambda a, e: "yes", name="bad").evaluate([turn()], [turn()])


# --- the judge ----------------------------------------------------------------------------------------------

def verdict(answer: str, why: str = "because") -> str:
    return json.dumps({"reasoning": why, "verdict": answer})


@pytest.mark.parametrize("samples,score", [(["yes", "no", "yes"], 1.0), (["no", "yes", "no"], 0.0),
                                           (["yes"], 1.0), (["no"], 0.0), (["yes", "no"], 0.0)])
def test_judge_majority_over_samples(samples, score):
    model = ScriptedModel([verdict(s) for s in samples])
    judge = LLMJudgeEvaluator(threshold=0.5, model=model, num_samples=len(samples), rubric="Mentions the city.")
    result = judge.evaluate([turn("Sunny in Paris.", user="Weather in Paris?")], [turn("It is sunny in Paris.")])
    assert result.score == score and result.passed is bool(score)
    assert model.remaining == 0 and len(model.requests) == len(samples)
    request = model.requests[0]
    assert request.response_format["json_schema"]["schema"] == JudgeVerdict.model_json_schema()
    assert request.settings == ModelSettings(temperature=0.0)
    prompt = request.messages[0]["content"]
    assert all(text in prompt for text in ("Weather in Paris?", "It is sunny in Paris.", "Sunny in Paris.",
                                           "Mentions the city."))


def test_judge_leaves_out_unparseable_verdicts_and_scores_zero_without_any():
    judge = LLMJudgeEvaluator(model=ScriptedModel(["not json", verdict("yes", "fine"), '{"verdict": "maybe"}']))
    result = judge.evaluate([turn("a")], [turn("a")])
    assert result.score == 1.0 and result.turn_results[0].detail == "1/1 yes, 2 unparseable: fine"
    nothing = LLMJudgeEvaluator(model=ScriptedModel(["?"]), num_samples=1).evaluate([turn("a")], [turn("a")])
    assert nothing.score == 0.0 and "no valid verdict" in nothing.turn_results[0].detail
    with pytest.raises(UserError):
        LLMJudgeEvaluator(num_samples=0)


def test_rubric_based_judge_scores_the_fraction_of_rubrics_met():
    model = FunctionModel(lambda messages, tools: verdict("yes" if "polite" in messages[0]["content"] else "no"))
    judge = RubricBasedEvaluator(["Is polite.", "Cites a source."], threshold=0.5, model=model, num_samples=1)
    result = judge.evaluate([turn("Thanks!")], [turn()])
    assert result.score == 0.5 and result.passed


# --- the evaluator: the 1.0 demos, sessions, concurrency ----------------------------------------------------

def load_demo():
    import importlib.util

    spec = importlib.util.spec_from_file_location("weather_agent", EXAMPLES / "eval_data" / "weather_agent.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def demo_evaluators(demo, response_threshold):
    return [ToolTrajectoryEvaluator(threshold=1.0),
            ResponseMatchEvaluator(threshold=response_threshold, metric=SimilarityMetric.ROUGE_1),
            LLMJudgeEvaluator(threshold=0.5, model=demo.judge_model, num_samples=1)]


def test_the_passing_demo_set_passes():
    demo = load_demo()
    eval_set = EvalSet.load(EXAMPLES / "eval_data" / "weather_agent_eval.json")
    result = AgentEvaluator(agent=demo.agent, evaluators=demo_evaluators(demo, 0.5)).evaluate(eval_set)
    assert (result.passed, result.total_cases, result.passed_cases) == (True, 3, 3)
    assert {name: (s.avg_score, s.pass_rate, s.passed_count, s.total_count)
            for name, s in result.metric_summaries.items()} == {
        "tool_trajectory": (1.0, 1.0, 3, 3), "response_match": (1.0, 1.0, 3, 3), "llm_judge": (1.0, 1.0, 3, 3)}
    multi = result.case_results[2]
    assert [len(m.turn_results) for m in multi.metric_results.values()] == [2, 2, 2]
    assert multi.actual_turns[1].tools_used[0].arguments_dict() == {"city": "Porto"}


def test_the_demo_set_with_expected_failures_fails_where_expected():
    demo = load_demo()
    eval_set = EvalSet.load(EXAMPLES / "eval_data" / "weather_agent_eval_with_failures.json")
    result = AgentEvaluator(agent=demo.agent, evaluators=demo_evaluators(demo, 0.6)).evaluate(eval_set)
    assert (result.passed, result.passed_cases, result.total_cases) == (False, 1, 3)
    verdicts = {c.eval_id: (c.passed, {n: m.passed for n, m in c.metric_results.items()})
                for c in result.case_results}
    assert verdicts == {
        "passes": (True, {"tool_trajectory": True, "response_match": True, "llm_judge": True}),
        "expects_another_tool": (False, {"tool_trajectory": False, "response_match": True, "llm_judge": True}),
        "expects_another_answer": (False, {"tool_trajectory": True, "response_match": False, "llm_judge": False})}
    summary = result.metric_summaries["response_match"]
    assert summary.min_score < 0.6 and summary.max_score == 1.0 and summary.pass_rate == pytest.approx(2 / 3)


def test_each_case_runs_its_turns_on_one_fresh_session():
    def count_user_messages(messages, tools):
        return f"seen {sum(m['role'] == 'user' for m in messages)}"

    agent = Agent(name="counter", model=FunctionModel(count_user_messages))
    case = EvalCase(eval_id="c", dialog_session=[turn("seen 1", user="a"), turn("seen 2", user="b")])
    exact = ResponseMatchEvaluator(threshold=1.0, metric=SimilarityMetric.EXACT)
    result = AgentEvaluator(agent, [exact]).evaluate(EvalSet(cases=[case, case]))
    assert result.passed and [t.agent_response for t in result.case_results[1].actual_turns] == ["seen 1", "seen 2"]


def test_cases_run_concurrently_within_the_bound_with_progress_and_figures():
    lock, running, peak = threading.Lock(), [0], [0]

    def slow(messages, tools):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.15)
        with lock:
            running[0] -= 1
        return "ok"

    agent = Agent(name="slow", model=FunctionModel(slow))
    cases = [EvalCase(eval_id=f"c{i}", dialog_session=[turn("ok", user=f"q{i}")]) for i in range(6)]
    seen = []
    started = time.perf_counter()
    result = AgentEvaluator(agent, [ResponseMatchEvaluator(metric=SimilarityMetric.EXACT)], concurrency=3,
                            progress=lambda done, total, case: seen.append((done, total, case.eval_id))).evaluate(
        EvalSet(cases=cases))
    assert time.perf_counter() - started < 6 * 0.15  # not one after another
    assert peak[0] == 3
    assert seen == [(i + 1, 6, f"c{i}") for i in range(6)]
    assert [c.eval_id for c in result.case_results] == [f"c{i}" for i in range(6)]
    case = result.case_results[0]
    assert case.duration_seconds >= 0.15 and case.requests == 1 and case.input_tokens > 0 and case.output_tokens > 0
    assert case.cost_usd is None  # a scripted model has no price
    assert result.input_tokens == 6 * case.input_tokens
    with pytest.raises(UserError):
        AgentEvaluator(agent, [], concurrency=0)


def test_a_run_that_fails_fails_its_case_and_the_set_goes_on():
    model = FunctionModel(lambda messages, tools: RuntimeError("boom") if "bad" in messages[-1]["content"] else "ok")
    agent = Agent(name="a", model=model)
    cases = [EvalCase(eval_id="bad", dialog_session=[turn("ok", user="bad"), turn("ok", user="next")]),
             EvalCase(eval_id="good", dialog_session=[turn("ok", user="fine")])]
    result = AgentEvaluator(agent, [ResponseMatchEvaluator(metric=SimilarityMetric.EXACT)]).evaluate(
        EvalSet(cases=cases))
    bad, good = result.case_results
    assert not bad.passed and bad.error.startswith("turn 1: RuntimeError: boom")
    assert [t.agent_response for t in bad.actual_turns] == ["", ""]
    assert good.passed and result.passed_cases == 1


def test_bad_input_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="No evaluation set"):
        EvalSet.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"cases": [{"eval_id": 1}]}')
    with pytest.raises(UserError, match="not a valid evaluation set"):
        EvalSet.load(tmp_path / "bad.json")
    with pytest.raises(UserError, match="share a name"):
        AgentEvaluator(Agent(name="a", model=ScriptedModel([])), [ResponseMatchEvaluator(), ResponseMatchEvaluator()])
    with pytest.raises(UserError, match="takes an EvalSet"):
        AgentEvaluator(Agent(name="a", model=ScriptedModel([])), []).evaluate([])


def test_evalset_round_trips(tmp_path):
    original = EvalSet.load(EXAMPLES / "eval_data" / "weather_agent_eval.json")
    original.dump(tmp_path / "copy.json")
    assert EvalSet.load(tmp_path / "copy.json") == original


# --- reports ------------------------------------------------------------------------------------------------

def failing_result():
    demo = load_demo()
    eval_set = EvalSet.load(EXAMPLES / "eval_data" / "weather_agent_eval_with_failures.json")
    return AgentEvaluator(agent=demo.agent, evaluators=demo_evaluators(demo, 0.6)).evaluate(eval_set)


def test_reports_table_json_and_one_self_contained_html_page():
    result = failing_result()
    table = format_table(result)
    assert re.search(r"expects_another_tool +FAIL +0.000 ✗ +1.000 +1.000", table) and "FAILED: 1/3 cases" in table
    data = json.loads(json.dumps(to_json(result)))
    assert data["passed"] is False and data["case_results"][1]["metric_results"]["tool_trajectory"]["score"] == 0
    assert data["input_tokens"] == result.input_tokens > 0
    page = to_html(result, title="weather <eval>")
    assert "<script" not in page and "http://" not in page and "https://" not in page and "<link" not in page
    assert "weather &lt;eval&gt;" in page
    for text in ("expects_another_answer", "Heavy snow is falling over Oslo", "The weather in Oslo is SUNNY.",
                 "get_forecast", "The answer reports different weather."):
        assert text in page

    class Checker(HTMLParser):
        opened: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag not in ("meta", "br"):
                self.opened.append(tag)

        def handle_endtag(self, tag):
            assert self.opened.pop() == tag

    checker = Checker()
    checker.feed(page)
    assert checker.opened == []  # well nested


# --- cases from recorded conversations ----------------------------------------------------------------------

@tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return "SUNNY"


def test_a_stored_conversation_becomes_a_case_the_agent_passes(tmp_path):
    from agentsilex.stores import SQLiteSession

    script = [call("get_weather", city="Oslo"), "The weather in Oslo is SUNNY.", "You asked about Oslo."]
    session = SQLiteSession("talk-1", tmp_path / "sessions.db")
    runner = Runner(session)
    live = Agent(name="w", model=ScriptedModel(list(script)), tools=[get_weather])
    runner.run(live, "Weather in Oslo?")
    runner.run(live, "Which city?")
    case = case_from_session(session)
    assert case.eval_id == "talk-1"
    assert case.model_dump() == EvalCase(eval_id="talk-1", dialog_session=[
        DialogTurn(user_utterance="Weather in Oslo?", agent_response="The weather in Oslo is SUNNY.",
                   tools_used=[ToolUsage(name="get_weather", arguments='{"city": "Oslo"}', response="SUNNY")]),
        DialogTurn(user_utterance="Which city?", agent_response="You asked about Oslo.")]).model_dump()
    again = Agent(name="w", model=ScriptedModel(list(script)), tools=[get_weather])
    result = AgentEvaluator(again, [ToolTrajectoryEvaluator(threshold=1.0), ResponseMatchEvaluator(threshold=1.0)],
                            concurrency=1).evaluate(EvalSet(cases=[case]))
    assert result.passed
    with pytest.raises(UserError, match="no user message"):
        case_from_messages([{"role": "system", "content": "x"}], "empty")


@pytest.mark.parametrize("path", ["litellm", "native"])
def test_judge_through_the_http_paths_sends_the_verdict_schema(path):
    from agentsilex.testing import LoopbackServer

    with LoopbackServer([verdict("yes"), verdict("no"), verdict("no")]) as server:
        model = server.litellm_model() if path == "litellm" else server.openai_model()
        result = LLMJudgeEvaluator(model=model, num_samples=3).evaluate([turn("a")], [turn("a")])
    assert result.score == 0.0 and result.turn_results[0].detail.startswith("1/3 yes")
    sent = server.requests[0]
    assert sent["response_format"]["json_schema"]["schema"]["properties"]["verdict"]["enum"] == ["yes", "no"]
    assert sent["temperature"] == 0.0
