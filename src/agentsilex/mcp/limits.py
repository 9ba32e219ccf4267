"""How much of a stranger's text an MCP server may put into a run: the limits, in one place.

An MCP server is someone else's program. What its tools return is stored with the session and sent to the
model; what its tools' descriptions say is sent with every request. Both are cut at a limit, with a note that
says so (never silently), before anything stores or sends them:

    from agentsilex.mcp import limits
    limits.MAX_RESULT_CHARS = 20_000                    # every server from now on (default 100,000)
    MCPServer(config, max_result_chars=500_000)         # one server (or "max_result_chars" in its config)

A limit given to a server (or in its config entry) wins; the others follow the global value as it is now.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import UserError

MAX_RESULT_CHARS = 100_000  # a tool result's text (or its structured content as JSON), and an error's text
MAX_DESCRIPTION_CHARS = 100_000  # a tool's description, sent with every request that offers the tool


def limit(value: Any, option: str) -> int:
    """A server's limit: the value given, else the global default of that name."""
    if value is None:
        value = MAX_RESULT_CHARS if option == "max_result_chars" else MAX_DESCRIPTION_CHARS
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"{option} must be a positive whole number of characters, got {value!r}.")
    return value


def given(options: dict[str, Any]) -> tuple[int | None, int | None]:
    """A server's own (max_result_chars, max_description_chars), checked now; None follows the global value."""
    found = options.get("max_result_chars"), options.get("max_description_chars")
    for option, value in zip(("max_result_chars", "max_description_chars"), found):
        if value is not None:
            limit(value, option)
    return found


def cut(text: str, maximum: int, what: str, option: str) -> str:
    """`text`, or its first `maximum` characters and a note saying how much was left out and why."""
    if len(text) <= maximum:
        return text
    return (f"{text[:maximum]}\n[agentsilex cut {what} here: {len(text):,} characters, over {option}="
            f"{maximum:,}; the remaining {len(text) - maximum:,} were dropped]")


def cut_value(value: Any, maximum: int, what: str) -> Any:
    """A result value within the limit: text is cut; structured content too large becomes its JSON, cut."""
    if isinstance(value, str):
        return cut(value, maximum, what, "max_result_chars")
    text = json.dumps(value, ensure_ascii=False, default=str)
    return value if len(text) <= maximum else cut(text, maximum, what, "max_result_chars")
