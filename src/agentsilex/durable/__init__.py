"""Durable agent runs: the agent loop driven by a durable engine, each model and tool call a recorded step.

`agentsilex.durable.temporal` (extra `temporal`) and `agentsilex.durable.dbos` (extra `dbos`) are the engines; the
parts they share are here: the durable driver (driver.py), the steps the workers do (steps.py), the session as the
workflow sees it (session.py), the live events (events.py) and the plain data between them (codec.py). Nothing here
is imported by `import agentsilex` or by a plain run. See docs/durable.md.
"""
