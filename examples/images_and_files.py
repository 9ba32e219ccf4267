"""Images and files: a photo in the prompt, and a tool that returns a chart the model can see.

    python examples/images_and_files.py
Runs offline against the loopback OpenAI-compatible server (the real HTTP path), which echoes what it got.
"""

from __future__ import annotations

import base64

from agentsilex import Agent, File, Image, Runner, Session, tool
from agentsilex.testing import LoopbackServer, call
from agentsilex.utils import print_dialog_history

# A 1x1 PNG, standing in for a photo and for a rendered chart.
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


@tool
def sales_chart(quarter: str) -> list:
    """Render the sales chart of a quarter."""
    return [f"Sales chart for {quarter}.", Image.from_bytes(PIXEL)]


with LoopbackServer([call("sales_chart", quarter="Q3"), "Sales rose in Q3; the chart shows a steady climb."]) as server:
    agent = Agent(name="analyst", model=server.openai_model(), tools=[sales_chart])
    session = Session()
    prompt = ["How did Q3 go? Here is last year's report and a photo of the whiteboard.",
              File.from_bytes(b"%PDF-1.7 ...", "report-2025.pdf"), Image.from_bytes(PIXEL)]
    result = Runner(session).run(agent, prompt)
    print("answer:", result.final_output)
    print_dialog_history(session, max_content_len=120)
    follow_up = server.requests[1]["messages"][-1]
    print("the model saw after the tool:", [part["type"] for part in follow_up["content"]])
