"""agentsilex 1.0's observability program, unchanged in spirit: set OTEL_EXPORTER_OTLP_ENDPOINT, run a handoff.

Start a receiver first (Phoenix: `pip install arize-phoenix && phoenix serve`, then open http://localhost:6006),
then run:  OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 python examples/tracing_otlp.py
Nothing is configured in code: the first run sees the variable and exports there (needs agentsilex[tracing]).
Offline, on scripted models, so it needs no API key. Without the variable it runs untraced.
"""

import os

os.environ.setdefault("OTEL_SERVICE_NAME", "agentsilex-handoff-demo")

from agentsilex import Agent, Runner, Session, tool  # noqa: E402
from agentsilex.testing import ScriptedModel, call  # noqa: E402


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny, 22°C in {city}"


weather = Agent(name="weather_agent", model=ScriptedModel([call("get_weather", city="Paris"),
                                                            "It is sunny and 22°C in Paris."]),
                instructions="Answer weather questions with the get_weather tool.", tools=[get_weather])
triage = Agent(name="triage_agent", model=ScriptedModel([call("transfer_to_weather_agent")]),
               instructions="Route the user to the right specialist.", handoffs=[weather])

session = Session()
result = Runner(session).run(triage, "What's the weather in Paris?")
print("answer:", result.final_output)
print("answered by:", result.last_agent.name)
