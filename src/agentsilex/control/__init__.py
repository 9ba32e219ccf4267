"""What steers a run beyond the bare loop: handoffs and agents as tools (multi-agent), structured output,
guardrails, human approval, usage and budgets, lifecycle hooks. One module per feature; `_loop.py` calls
into each with one line. The public names are re-exported from `agentsilex`."""
