"""Agents as tools: a writer asks a researcher agent, which runs nested in the writer's run.

    python examples/agent_as_tool.py
The researcher runs on its own scratch session but shares the run context; its events stream with the
writer's and its usage is added to the writer's.
"""

from __future__ import annotations

from agentsilex import Agent, Runner, tool
from agentsilex.testing import ScriptedModel, call


@tool
def search(query: str, context: dict) -> str:
    """Search the notes."""
    context.setdefault("searches", []).append(query)
    return "Wrens weigh about 10 grams."


researcher = Agent(name="researcher", model=ScriptedModel([call("search", query="wren weight"), "About 10 g."]),
                   instructions="Answer with facts from search.", tools=[search])
writer = Agent(name="writer", model=ScriptedModel([call("research", input="How heavy is a wren?"),
                                                   "A wren weighs about ten grams: lighter than a letter."]),
               tools=[researcher.as_tool(tool_name="research", tool_description="Ask the researcher.")])

context: dict = {}
stream = Runner(context=context).run_stream(writer, "Write one line about wrens.")
for event in stream:
    if event.type in ("tool_call", "tool_response"):
        print(f"[{event.agent}] {event.type}: {event.name}")
print("final output:", stream.result.final_output)
print("searches made:", context["searches"])
for request in stream.result.usage.per_request:
    print(f"  request by {request.agent}: {request.total_tokens} tokens")
print("total tokens:", stream.result.usage.total_tokens)

# Two agents used as tools in one step run side by side (threads here; tasks in run_async): their two
# 0.5 s look-ups overlap, so the step takes about 0.5 s, not 1 s.
import threading  # noqa: E402
import time  # noqa: E402

running, most, lock = 0, 0, threading.Lock()


@tool
def slow_lookup(city: str) -> str:
    """Look up a city (slowly)."""
    global running, most
    with lock:
        running += 1
        most = max(most, running)
    time.sleep(0.5)
    with lock:
        running -= 1
    return f"{city}: mild"


experts = [Agent(name=f"{city.lower()}_expert", model=ScriptedModel([call("slow_lookup", city=city), f"{city} is mild."]),
                 tools=[slow_lookup]) for city in ("Oslo", "Lima")]
planner = Agent(name="planner", model=ScriptedModel([[call("oslo_expert", input="weather?"),
                                                      call("lima_expert", input="weather?")], "Both are mild."]),
                tools=[expert.as_tool() for expert in experts])
result = Runner().run(planner, "Compare Oslo and Lima.")
print(f"side by side: {result.final_output} ({most} look-ups ran at once)")
