"""Test helper: is a history valid for strict providers? The package's own validator, plus JSON safety."""

from __future__ import annotations

import json

from agentsilex.history import history_problem


def assert_valid_history(dialogs: list[dict]) -> None:
    """Every assistant tool call is answered by exactly one tool message right after it; no orphans;
    every message is plain JSON (agentsilex.history.history_problem, the validator the loop uses)."""
    json.dumps(dialogs)  # plain JSON-safe data only
    problem = history_problem(dialogs)
    assert problem is None, f"invalid history at {problem}"
