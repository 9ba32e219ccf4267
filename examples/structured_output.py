"""Structured output: `output_type` makes `final_output` a validated pydantic object.

    python examples/structured_output.py
The first answer misses a field; the loop feeds the validation error back once, and the second answer
validates. (A second invalid answer would raise ModelBehaviorError.)
"""

from __future__ import annotations

from pydantic import BaseModel

from agentsilex import Agent, Runner
from agentsilex.testing import ScriptedModel


class Weather(BaseModel):
    city: str
    celsius: float


model = ScriptedModel(['{"city": "Oslo"}', '{"city": "Oslo", "celsius": 4.5}'])
result = Runner().run(Agent(name="weather", model=model, output_type=Weather), "Weather in Oslo?")
print("final output:", repr(result.final_output))
print("response_format sent:", model.requests[0].response_format["json_schema"]["name"])
print("retry note the model got:", model.requests[1].messages[-1]["content"])
