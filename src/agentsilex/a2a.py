"""A remote A2A agent as a tool: `Agent(tools=[a2a_agent("http://host:8000")])` (extra `a2a`).

    from agentsilex.a2a import a2a_agent
    researcher = a2a_agent("http://127.0.0.1:8001")         # name and description from its agent card
    agent = Agent(name="lead", model="gpt-4o-mini", tools=[researcher])

Like `agent.as_tool()`, the model calls it with one `input` text and reads the remote agent's answer; each
call is a new A2A conversation (a fresh contextId), as `as_tool` runs its agent on a scratch session. Unlike
`as_tool`, the remote agent runs in its own process, with its own model, tools, approvals and usage: none
of it is counted in this run's usage or budgets, its events do not stream into this run, and a remote task
that asks for input (such as an approval) comes back as an error result naming what it waits for. The card
is read once, when `a2a_agent` is called, unless `name` and `description` are both given.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

try:
    import httpx
    from a2a.client import ClientConfig, create_client
    from a2a.client.card_resolver import parse_agent_card
    from a2a.helpers import get_artifact_text, get_message_text
    from a2a.types.a2a_pb2 import AgentCard, Message, Part, Role, SendMessageRequest, TaskState
    from a2a.utils.constants import AGENT_CARD_WELL_KNOWN_PATH
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("agentsilex.a2a needs the A2A SDK: pip install -e '.[a2a]'") from exc

from .errors import ToolError, UserError
from .tool import Tool

PARAMETERS = {"type": "object", "properties": {"input": {"type": "string",
                                                         "description": "The task or question for the agent."}},
              "required": ["input"], "additionalProperties": False}
_WAITING = (TaskState.TASK_STATE_INPUT_REQUIRED, TaskState.TASK_STATE_AUTH_REQUIRED)
_FAILED = (TaskState.TASK_STATE_FAILED, TaskState.TASK_STATE_REJECTED, TaskState.TASK_STATE_CANCELED)


def a2a_agent(url: str, *, name: str | None = None, description: str | None = None,
              headers: dict[str, str] | None = None, timeout: float = 300.0) -> Tool:
    """A tool that sends its `input` to the A2A agent at `url` (its base URL, where the agent card is) and
    answers with the agent's reply. `headers` go with every request (`{"Authorization": "Bearer ..."}`)."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise UserError(f"a2a_agent needs the agent's http(s) base URL, got {url!r}.")
    card = None if name and description else _read_card(url, headers, timeout)
    tool_name = name or re.sub(r"[^a-zA-Z0-9_-]", "_", card.name if card else "")[:64] or "remote_agent"
    about = description or _describe(card)

    async def ask_remote_agent(input: str) -> str:
        return await _ask(url, card, input, headers, timeout, tool_name)

    made = Tool.from_schema(tool_name, about, PARAMETERS, ask_remote_agent)
    setattr(made, "source", f"A2A agent at {url}")
    return made


def _read_card(url: str, headers: dict[str, str] | None, timeout: float) -> AgentCard:
    try:  # plain HTTP here, so a2a_agent(...) works at import time, inside or outside an event loop
        response = httpx.get(url.rstrip("/") + AGENT_CARD_WELL_KNOWN_PATH, headers=headers, timeout=min(timeout, 30))
        response.raise_for_status()
        return parse_agent_card(response.json())
    except Exception as exc:
        raise UserError(f"Could not read the A2A agent card at {url.rstrip('/')}/.well-known/agent-card.json "
                        f"({type(exc).__name__}: {exc}). Is the agent running? Or pass name= and description=.") \
            from None


def _describe(card: AgentCard | None) -> str:
    if card is None:
        return "Ask the remote agent; give it the full task as `input`."
    skills = "; ".join(f"{s.name}: {s.description.rstrip('.')}" for s in card.skills)
    return (f"Ask the remote agent {card.name!r}: {card.description.rstrip('.')}."
            + (f" Its skills: {skills}." if skills else "") + " Give it the full task as `input`.")


async def _ask(url: str, card: AgentCard | None, text: str, headers: dict[str, str] | None, timeout: float,
               tool_name: str) -> str:
    message = Message(message_id=uuid.uuid4().hex, context_id=uuid.uuid4().hex, role=Role.ROLE_USER,
                      parts=[Part(text=text)])
    async with httpx.AsyncClient(headers=headers, timeout=timeout) as http:
        client = await create_client(card or url, client_config=ClientConfig(httpx_client=http, streaming=False))
        try:
            last: Any = None
            async for response in client.send_message(SendMessageRequest(message=message)):
                last = response
        except Exception as exc:
            raise ToolError(f"The A2A agent at {url} failed: {type(exc).__name__}: {exc}", tool_name=tool_name) \
                from None
        finally:
            await client.close()
    return _answer(last, url, tool_name)


def _answer(response: Any, url: str, tool_name: str) -> str:
    """The reply's text: a direct message, or a finished task's artifacts (its status message otherwise)."""
    if response is None:
        raise ToolError(f"The A2A agent at {url} sent no answer.", tool_name=tool_name)
    if response.HasField("message"):
        return get_message_text(response.message)
    task = response.task
    said = get_message_text(task.status.message) if task.status.HasField("message") else ""
    if task.status.state in _FAILED:
        raise ToolError(f"The A2A agent at {url} did not finish ({TaskState.Name(task.status.state)}): "
                        f"{said or 'no reason given'}", tool_name=tool_name)
    if task.status.state in _WAITING:
        raise ToolError(f"The A2A agent at {url} waits for input it cannot get from here: {said}",
                        tool_name=tool_name)
    return "\n".join(get_artifact_text(a) for a in task.artifacts) or said
