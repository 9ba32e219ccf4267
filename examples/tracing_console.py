"""See inside a run, offline: the OpenTelemetry span tree of a handoff, a parallel tool step and an agent used as
a tool, printed to the console. Needs the tracing extra: pip install -e '.[tracing]'.

In production you would export to a receiver instead: set OTEL_EXPORTER_OTLP_ENDPOINT (see
examples/tracing_otlp.py) or call configure_tracing(endpoint=...).
"""

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentsilex import Agent, Runner, Session, tool
from agentsilex.testing import ScriptedModel, call
from agentsilex.tracing import configure_tracing

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
configure_tracing(tracer_provider=provider)  # your provider, used as it is


@tool
def get_order(order_id: str) -> str:
    """Look up an order."""
    return f"order {order_id}: 2 books, shipped"


@tool
def get_invoice(order_id: str) -> str:
    """Look up an invoice."""
    return f"invoice for {order_id}: 42.00 EUR, paid"


summarizer = Agent(name="summarizer", model=ScriptedModel(["Shipped and paid."]))
billing = Agent(
    name="billing",
    model=ScriptedModel([[call("get_order", order_id="A7"), call("get_invoice", order_id="A7")],
                         call("summarize", input="order A7 shipped, invoice paid"),
                         "Your order A7 has shipped and is paid."]),
    tools=[get_order, get_invoice,
           summarizer.as_tool(tool_name="summarize", tool_description="Summarize facts in one line.")])
triage = Agent(name="triage", model=ScriptedModel([call("transfer_to_billing")]), handoffs=[billing])

result = Runner(Session()).run(triage, "Where is my order A7, and is it paid?")
print("answer:", result.final_output)
print()

spans = exporter.get_finished_spans()
children: dict = {}
for span in spans:
    children.setdefault(span.parent.span_id if span.parent else None, []).append(span)


def show(parent, depth):
    for span in sorted(children.get(parent, []), key=lambda s: s.start_time):
        attributes = span.attributes
        detail = ", ".join(f"{key.removeprefix('gen_ai.')}={attributes[key]}" for key in (
            "gen_ai.agent.name", "gen_ai.tool.call.id", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens")
            if key in attributes)
        print("  " * depth + f"{span.name}  ({detail})")
        show(span.context.span_id, depth + 1)


show(None, 0)
