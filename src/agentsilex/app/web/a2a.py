"""A2A: the agent card at `/.well-known/agent-card.json` and the JSON-RPC binding at `POST /a2a`, on the
official `a2a-sdk` (extra `a2a`), speaking A2A 1.0 and, on the same endpoint, 0.3.

A message is a task. The A2A `contextId` names the conversation in the web chat's store (created on first
use), so an A2A client continues a conversation by sending the same contextId. While the run goes on, the
answer streams as chunks of the `answer` artifact (then the whole answer replaces them, `append: false`),
and each tool call and result is a `working` status update whose message holds a data part
(`{"toolCall": {...}}` / `{"toolResult": {...}}`). A run that pauses for approval leaves the task
`input-required`, its status message naming the waiting calls in a data part (`{"pendingApprovals":
[...]}`); answer on the same task with a data part `{"decisions": {call_id: {"approved": true}}}`, or the
text `approve` / `reject` for all of them. A failure is a `failed` task whose message says why. Tasks live
in memory (the conversations themselves are in the store).
"""

from __future__ import annotations

import uuid
from typing import Any

from a2a.helpers import get_data_parts, get_message_text, new_data_part, new_task, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.request_handlers.response_helpers import agent_card_to_dict
from a2a.server.routes import add_a2a_routes_to_fastapi, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types.a2a_pb2 import (AgentCapabilities, AgentCard, AgentInterface, AgentSkill, HTTPAuthSecurityScheme,
                               Message, Role, SecurityRequirement, SecurityScheme, StringList, TaskState)
from a2a.utils.constants import AGENT_CARD_WELL_KNOWN_PATH
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ...tool import as_tool
from ..common import jsonable
from .runs import ApiError, Chat, as_api_error, final_text, waiting_text

RPC_PATH = "/a2a"
ANSWER = "answer"


def mount(app: FastAPI, chat: Chat, *, token: str | None = None) -> None:
    """Serve the agent card and the JSON-RPC endpoint (1.0, with 0.3 compatibility) on `app`."""
    card = agent_card(chat, chat.public_url or "http://127.0.0.1:8000", token=token)
    handler = DefaultRequestHandler(agent_executor=_Executor(chat), task_store=InMemoryTaskStore(), agent_card=card)
    add_a2a_routes_to_fastapi(app, jsonrpc_routes=create_jsonrpc_routes(handler, rpc_url=RPC_PATH,
                                                                        enable_v0_3_compat=True))

    @app.get(AGENT_CARD_WELL_KNOWN_PATH, tags=["A2A: Agent Card"])
    def card_route(request: Request) -> JSONResponse:
        """The agent card; its interface URL is `public_url`, else the address this request came to."""
        base = chat.public_url or str(request.base_url)
        return JSONResponse(agent_card_to_dict(agent_card(chat, base, token=token)))


def agent_card(chat: Chat, base_url: str, *, token: str | None = None) -> AgentCard:
    """The card: the agent's name and description, a skill per tool, the JSON-RPC interface (absolute URL)."""
    agent = chat.agent
    description = getattr(agent, "description", None) or f"The agentsilex agent {agent.name!r}."
    tools = [as_tool(item) for item in agent.tools]
    skills = [AgentSkill(id=t.name, name=t.name, description=t.description or t.name, tags=["tool"]) for t in tools] \
        or [AgentSkill(id="chat", name=agent.name, description=description, tags=["chat"])]
    url = base_url.rstrip("/") + RPC_PATH
    card = AgentCard(name=agent.name, description=description, version="1",
                     supported_interfaces=[AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0"),
                                           AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="0.3")],
                     capabilities=AgentCapabilities(streaming=True), default_input_modes=["text/plain"],
                     default_output_modes=["text/plain"], skills=skills)
    if token:  # the same bearer token as the rest of the app
        card.security_schemes["bearer"].CopyFrom(
            SecurityScheme(http_auth_security_scheme=HTTPAuthSecurityScheme(scheme="bearer")))
        card.security_requirements.append(SecurityRequirement(schemes={"bearer": StringList()}))
    return card


class _Executor(AgentExecutor):
    """Runs the agent for one A2A task, publishing its progress on the task's event queue."""

    def __init__(self, chat: Chat) -> None:
        self.chat = chat

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        task_id, context_id = context.task_id or "", context.context_id or ""
        updater = TaskUpdater(event_queue, task_id, context_id)
        if context.current_task is None:
            await event_queue.enqueue_event(new_task(task_id, context_id, TaskState.TASK_STATE_SUBMITTED,
                                                     history=[context.message] if context.message else []))
        await updater.start_work()
        try:
            session = self.chat.open(context_id)
            prompt = self._prompt(session, context)
            run = await self.chat.begin(session, prompt, abandon_pending=isinstance(prompt, str))
        except Exception as error:
            await updater.failed(_say(as_api_error(error).message, task_id, context_id))
            return
        await self._follow(run, updater)

    def _prompt(self, session: Any, context: RequestContext) -> Any:
        """The new question, or, on a task waiting for approval, the paused run with the decisions taken."""
        message = context.message
        if message is None:
            raise ApiError(400, "bad_request", "The request has no message.")
        paused = context.current_task is not None and \
            context.current_task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED and self.chat.pending(session)
        if paused:
            return self.chat.resume(session, _decisions(message, self.chat.pending(session)))
        text = get_message_text(message)
        if not text.strip():
            raise ApiError(400, "bad_request", "The message has no text part: send the question as text.")
        return text

    async def _follow(self, run: Any, updater: TaskUpdater) -> None:
        artifact, started = f"{ANSWER}-{uuid.uuid4().hex[:8]}", False
        try:
            async for event in run.events():
                if event.type == "partial_output" and event.content:
                    await updater.add_artifact([new_text_part(event.content)], artifact_id=artifact, name=ANSWER,
                                               append=started, last_chunk=False)
                    started = True
                elif event.type in ("tool_call", "tool_response"):
                    key = "toolCall" if event.type == "tool_call" else "toolResult"
                    data = {k: v for k, v in jsonable(event.data).items() if not k.startswith("func_")}
                    await updater.update_status(TaskState.TASK_STATE_WORKING,
                                                message=_data({key: data}, updater.task_id, updater.context_id))
            result = run.result
            run.keep_pending()
        except Exception as error:
            await updater.failed(_say(as_api_error(error).message, updater.task_id, updater.context_id))
            return
        finally:
            await run.close()
        await self._finish(result, updater, artifact)

    async def _finish(self, result: Any, updater: TaskUpdater, artifact: str) -> None:
        if result.pending_approvals:
            how = "Answer on this task with 'approve' or 'reject' (or a data part {\"decisions\": {...}})."
            message = _say(waiting_text(result.pending_approvals, how), updater.task_id, updater.context_id)
            message.parts.append(new_data_part({"pendingApprovals": [jsonable(p) for p in result.pending_approvals]}))
            await updater.requires_input(message)
            return
        await updater.add_artifact([new_text_part(final_text(result.final_output))], artifact_id=artifact,
                                   name=ANSWER, append=False, last_chunk=True)
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        # The SDK has cancelled `execute` already (closing the run; the session stays valid).
        await TaskUpdater(event_queue, context.task_id or "", context.context_id or "").cancel()


def _decisions(message: Message, state: Any) -> dict[str, tuple[bool, str]]:
    for data in get_data_parts(message.parts):
        if isinstance(data, dict) and isinstance(data.get("decisions"), dict):
            return {str(call_id): (bool(d.get("approved")) if isinstance(d, dict) else bool(d),
                                   str(d.get("reason", "")) if isinstance(d, dict) else "")
                    for call_id, d in data["decisions"].items()}
    word = get_message_text(message).strip().lower()
    if word in ("approve", "approved", "yes", "reject", "rejected", "no"):
        approved = word in ("approve", "approved", "yes")
        return {p.call_id: (approved, "" if approved else "rejected") for p in state.pending}
    raise ApiError(400, "bad_request", "This task waits for approval: answer with a data part {\"decisions\": "
                   "{call_id: {\"approved\": true}}}, or the text 'approve' or 'reject'.")


def _say(text: str, task_id: str, context_id: str) -> Message:
    return Message(message_id=uuid.uuid4().hex, role=Role.ROLE_AGENT, parts=[new_text_part(text)],
                   task_id=task_id, context_id=context_id)


def _data(data: dict, task_id: str, context_id: str) -> Message:
    return Message(message_id=uuid.uuid4().hex, role=Role.ROLE_AGENT, parts=[new_data_part(data)],
                   task_id=task_id, context_id=context_id)
