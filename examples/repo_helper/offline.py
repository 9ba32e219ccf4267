"""REPO_HELPER_MODEL=offline: a few fixed rules play the LLM, so the tutorial runs with no API key."""

from __future__ import annotations

import json
import os
import re

from agentsilex.testing import FunctionModel, call


def rules(messages: list[dict], tools: list[dict]) -> object:
    repo = os.environ.get("REPO_HELPER_REPO", ".")
    last = messages[-1]
    if last["role"] == "tool":
        return after_tool(messages, repo)
    text = str(last.get("content") or "")
    if found := re.search(r"\bcommit (\S+)", text, re.IGNORECASE):
        return call("git_add", repo_path=repo, files=[found[1]])
    if "todo" in text.lower():
        return call("find_todos")
    if "changed" in text.lower():
        return call("git_status", repo_path=repo)
    return "I can list your TODOs, tell you what changed, and commit a file once you approve."


def after_tool(messages: list[dict], repo: str) -> object:
    step = next(m for m in reversed(messages) if m.get("tool_calls"))["tool_calls"][0]["function"]
    result = str(messages[-1]["content"])
    if result.startswith("Error"):
        return f"That did not happen: {result}"
    if step["name"] == "find_todos":
        return "Your TODOs:\n" + "\n".join(f"- {line}" for line in json.loads(result))
    if step["name"] == "git_add":
        files = json.loads(step["arguments"])["files"]
        return call("git_commit", repo_path=repo, message=f"Update {', '.join(files)}")
    if step["name"] == "git_commit":
        return f"Done. {result}"
    return f"Here is what git says:\n\n{result}"


class OfflineModel(FunctionModel):
    def __init__(self) -> None:
        super().__init__(rules, name="offline")
