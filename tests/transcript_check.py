"""A transcript check shared by the multi-agent and control tests."""

from __future__ import annotations


def assert_valid(dialogs: list[dict]) -> None:
    """Each assistant tool call is answered by exactly one tool message, right after it, and no tool
    message answers anything else."""
    index = 0
    while index < len(dialogs):
        message = dialogs[index]
        assert message["role"] != "tool", f"orphan tool message at {index}: {message}"
        ids = [c["id"] for c in message.get("tool_calls") or []]
        answers = [m["tool_call_id"] for m in dialogs[index + 1:index + 1 + len(ids)] if m["role"] == "tool"]
        assert sorted(answers) == sorted(ids), f"calls {ids} answered by {answers} at {index}"
        index += 1 + len(ids)
