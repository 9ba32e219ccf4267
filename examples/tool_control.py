"""Tool control that holds, and run-level guards.

    python examples/tool_control.py
- `tool_choice="required"` forces only the first request, then the model may answer (reset_tool_choice).
- `tool_use_behavior="stop_on_first_tool"`: the first tool result is the final output.
- `@tool(enabled=fn(context))`: a tool that is not enabled is not offered, and a call to it never runs.
- `Runner(run_timeout=...)` and `Runner(max_repeated_tool_calls=..., on_repeated_tool_call=...)`.
"""

from __future__ import annotations

import time

from agentsilex import Agent, ModelSettings, RepeatedToolCallError, Runner, RunTimeoutError, tool
from agentsilex.testing import ScriptedModel, call


@tool
def weather(city: str) -> str:
    """Today's weather in a city."""
    return f"{city}: 4 C, light snow"


@tool(enabled=lambda context: context.get("role") == "admin")
def reset_database() -> str:
    """Erase every record (admins only)."""
    raise RuntimeError("this never runs for a guest")


@tool
def slow_report(days: int) -> str:
    """A report that takes a while."""
    time.sleep(5)
    return "report"


# A forced first call, then a free answer: the second request carries no tool_choice.
model = ScriptedModel([call("weather", city="Oslo"), "Snowy in Oslo: take boots."])
forced = Agent(name="forecaster", model=model, tools=[weather], model_settings=ModelSettings(tool_choice="required"))
print("answer:", Runner().run(forced, "Oslo?").final_output)
print("tool_choice per request:", [r.settings.tool_choice for r in model.requests])

# The tool's result is the answer: one model call.
direct = Agent(name="direct", model=ScriptedModel([call("weather", city="Rome")]), tools=[weather],
               tool_use_behavior="stop_on_first_tool")
print("stop_on_first_tool:", Runner().run(direct, "Rome?").final_output)

# A guest is never offered reset_database; a model that names it anyway gets "unknown tool".
model = ScriptedModel([call("reset_database"), "I cannot do that."])
guarded = Agent(name="ops", model=model, tools=[weather, reset_database])
result = Runner(context={"role": "guest"}).run(guarded, "wipe it")
print("offered:", [t["function"]["name"] for t in model.requests[0].tools])
print("answer to the hidden call:", result.function_calls[0].content)

# A whole run gets 0.3 s; the session stays valid.
try:
    Runner(run_timeout=0.3).run(Agent(name="r", model=ScriptedModel([call("slow_report", days=7), "late"]),
                                      tools=[slow_report]), "report")
except RunTimeoutError as stop:
    print("stopped:", type(stop).__name__, "after", stop.result.usage.requests, "request")

# The same call three times in a row stops the run.
looping = Agent(name="looper", model=ScriptedModel([call("weather", city="Oslo")] * 3), tools=[weather])
try:
    Runner(max_repeated_tool_calls=3).run(looping, "weather?")
except RepeatedToolCallError as stop:
    print("stopped:", stop.tool_name, "repeated", stop.times, "times")
