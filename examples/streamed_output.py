"""Streamed structured output: a long structured answer shows as partial objects while it forms.

    python examples/streamed_output.py
With `output_type` set, every `partial_output` event carries `output`: the object so far (fields that validate
filled in). A UI renders it as it grows; the final event holds the validated object as always.
"""

from __future__ import annotations

from pydantic import BaseModel

from agentsilex import Agent, Runner
from agentsilex.testing import ScriptedModel


class Step(BaseModel):
    title: str
    minutes: int


class Recipe(BaseModel):
    name: str
    steps: list[Step]


answer = Recipe(name="Pancakes", steps=[Step(title="Whisk flour, milk and eggs", minutes=5),
                                        Step(title="Rest the batter", minutes=15),
                                        Step(title="Fry in butter, two minutes a side", minutes=10)])
agent = Agent(name="chef", model=ScriptedModel([answer.model_dump_json()]), output_type=Recipe)

updates, shown = 0, 0
stream = Runner().run_stream(agent, "A pancake recipe, please.")
for event in stream:
    if event.type == "partial_output" and event.output is not None:
        updates += 1
        done = [step for step in event.output.steps or [] if step.minutes is not None]  # minutes come last
        for step in done[shown:]:
            print(f"update {updates}: step {shown + 1} ready: {step.title} ({step.minutes} min)")
            shown += 1
print("final:", stream.result.final_output.name, "with", len(stream.result.final_output.steps), "steps")
