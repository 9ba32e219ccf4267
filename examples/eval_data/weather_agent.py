"""The weather agent of the evaluation demos, offline: a FunctionModel plays the LLM and another the judge.

With a real provider, give the agent a model string instead (e.g. model="gpt-4o-mini") and pass the same
string to LLMJudgeEvaluator(model=...): the demos and `agentsilex eval` run unchanged.
"""

from __future__ import annotations

import json
import re

from agentsilex import Agent, tool
from agentsilex.testing import FunctionModel, call


@tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return "SUNNY"


def _city(text: str) -> str:
    found = re.search(r"\b(?:in|about|for)\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+)*)", text)
    return found.group(1) if found else "your city"


def play_the_llm(messages: list[dict], tools: list[dict]) -> object:
    """Call get_weather for the city the user named, then say what it returned."""
    last = messages[-1]
    if last["role"] == "tool":
        asked = next(m for m in reversed(messages) if m.get("tool_calls"))
        city = json.loads(asked["tool_calls"][0]["function"]["arguments"])["city"]
        return f"The weather in {city} is {last['content']}."
    return call("get_weather", city=_city(last["content"]))


WEATHER_WORDS = ("sunny", "rain", "cloud", "snow", "storm", "fog", "wind")


def _section(prompt: str, start: str, end: str) -> str:
    return prompt.split(start, 1)[1].split(end, 1)[0].lower()


def play_the_judge(messages: list[dict], tools: list[dict]) -> str:
    """A stand-in judge: "yes" when the answer reports the same weather as the reference answer."""
    prompt = messages[-1]["content"]
    expected = _section(prompt, "A reference answer:", "The agent answered:")
    actual = _section(prompt, "The agent answered:", "Criteria:")
    same = [w for w in WEATHER_WORDS if w in expected] == [w for w in WEATHER_WORDS if w in actual]
    reasoning = "Both report the same weather." if same else "The answer reports different weather."
    return json.dumps({"reasoning": reasoning, "verdict": "yes" if same else "no"})


agent = Agent(
    name="weather_agent",
    model=FunctionModel(play_the_llm, name="offline-weather-llm"),
    instructions="You are a weather assistant. Look the weather up with get_weather and state it plainly.",
    tools=[get_weather],
)

judge_model = FunctionModel(play_the_judge, name="offline-judge")
