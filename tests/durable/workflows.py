"""A workflow of the user's own that runs an agent with DurableRunner (the worker takes it with DURABLE_OWN=1)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from agentsilex.durable.temporal import DurableRunner
    from durable.agents import agents


@workflow.defn(name="tests.two_questions")
class TwoQuestions:
    """Asks the worker agent twice on one session, inside one workflow of its own."""

    @workflow.run
    async def run(self, session_id: str) -> list[str]:
        runner = DurableRunner(session_id)
        first = await runner.run(agents()[0], "note first")
        second = await runner.run(agents()[0], "pay the second")  # waits for the agentsilex.decide signal
        return [first.final_output, second.final_output, second.function_calls[0].content]
