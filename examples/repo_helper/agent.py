"""The repo helper: its own tool, the git MCP server's tools, and a model chosen by REPO_HELPER_MODEL."""

from __future__ import annotations

import os
from pathlib import Path

from agentsilex import Agent
from agentsilex.mcp import mcp_tools

from repo_helper.tools import find_todos  # the agent file imports its own package: every command loads it

REPO = os.environ.get("REPO_HELPER_REPO", ".")


def pick_model():
    """A model string (any provider), or `offline`: fixed rules that stand in for the LLM (no API key)."""
    name = os.environ.get("REPO_HELPER_MODEL", "gpt-4o-mini")
    if name == "offline":
        from repo_helper.offline import OfflineModel

        return OfflineModel()
    return name


agent = Agent(
    name="repo_helper",
    description="Answers questions about a git repository (what changed, what is left to do) and commits "
                "files once you approve.",
    model=pick_model(),
    instructions=f"You help with the git repository at {REPO!r}: pass repo_path={REPO!r} to the git tools. "
                 "Answer briefly. Commit only what the user asks for.",
    tools=[find_todos, *mcp_tools(Path(__file__).with_name("servers.json"))],
)
