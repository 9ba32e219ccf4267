"""Record a run once, replay it offline: the loopback server stands in for a real provider here.

With a real provider, drop the server and record with your API key set (or run any program with
AGENTSILEX_RECORD=run.json); replay needs neither the key nor the network.
"""

import tempfile
from pathlib import Path

from agentsilex import Agent, Runner, Session, tool
from agentsilex.errors import ReplayMismatchError
from agentsilex.testing import LoopbackServer, ReplayModel, call, record


@tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return "SUNNY"


def weather_agent(model, instructions="Look the weather up, then answer in one sentence."):
    return Agent(name="weather", model=model, instructions=instructions, tools=[get_weather])


cassette = Path(tempfile.mkdtemp()) / "weather.json"
with LoopbackServer([call("get_weather", city="Oslo"), "It is sunny in Oslo."]) as provider:
    with record(cassette):
        live = Runner(Session()).run(weather_agent(provider.openai_model()), "Weather in Oslo?")
print(f"recorded: {live.final_output!r} ({len(cassette.read_text())} bytes of cassette)")

# The provider is gone: the cassette answers, and the run comes out the same.
replayed = Runner(Session()).run(weather_agent(ReplayModel(cassette)), "Weather in Oslo?")
print(f"replayed offline: {replayed.final_output!r}, same answer: {replayed.final_output == live.final_output}")

# Change the prompt and the replay refuses, showing what changed.
try:
    Runner(Session()).run(weather_agent(ReplayModel(cassette), "Answer like a pirate."), "Weather in Oslo?")
except ReplayMismatchError as error:
    print("changed agent:", str(error).splitlines()[0])
    print("\n".join(line for line in error.diff.splitlines() if line.startswith(("-  ", "+  "))))
