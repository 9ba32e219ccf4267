"""AG-UI: `POST /ag-ui` takes a `RunAgentInput` and streams the run as AG-UI 1.0 events (Server-Sent Events).

Events go out with camelCase keys and integer-millisecond timestamps; `RUN_STARTED` declares
`protocolVersion`. Mapping: the answer's text -> TEXT_MESSAGE_START/CONTENT/END; reasoning ->
REASONING_START, REASONING_MESSAGE_START/CONTENT/END, REASONING_END; a tool call -> TOOL_CALL_START/ARGS/END,
its result -> TOOL_CALL_RESULT; a handoff -> CUSTOM `agent_handoff`; a failure -> RUN_ERROR. A run that pauses
for approval sends STATE_SNAPSHOT `{"pendingApprovals": [...]}` and ends with RUN_FINISHED whose outcome is an
interrupt per waiting call (`id` = the call id); the next input answers with `resume`: `{"interruptId": id,
"status": "resolved", "payload": {"approved": true}}` (or `"cancelled"`, or `approved: false` with a `reason`).

`threadId` names the conversation in the web chat's store (created on first use): its history is the
conversation, and the input's last message is the new question (an empty thread starts from the input's
messages). The agent's own tools run on the server; the input's `tools`, `context` and `state` are not used.
A bad input is a 4xx whose body is a RUN_ERROR event.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, AsyncIterator, Literal

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from ..common import jsonable
from .runs import MAX_MESSAGES, ApiError, Chat, Run, as_api_error, final_text

PROTOCOL_VERSION = "1.0"
APPROVAL_SCHEMA = {"type": "object", "properties": {"approved": {"type": "boolean"}, "reason": {"type": "string"}},
                   "required": ["approved"]}


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


class ResumeEntry(_Camel):
    interrupt_id: str
    status: Literal["resolved", "cancelled"]
    payload: Any = None


class RunAgentInput(_Camel):
    thread_id: str
    run_id: str
    messages: list[dict] = Field(max_length=MAX_MESSAGES)
    resume: list[ResumeEntry] | None = None


def agui_error(status: int, kind: str, message: str) -> dict:
    """A refused input, as the RUN_ERROR event an AG-UI client understands."""
    return {"type": "RUN_ERROR", "timestamp": _now(), "message": message, "code": kind}


def mount(app: FastAPI, chat: Chat) -> None:
    app.state.error_shapes.append(("/ag-ui", agui_error))

    @app.post("/ag-ui", tags=["AG-UI"])
    async def run_agent(body: RunAgentInput) -> StreamingResponse:
        """Run the agent for an AG-UI client; the events stream back as Server-Sent Events."""
        if body.resume:
            session, _ = chat.conversation(body.thread_id, [])
            decisions = {entry.interrupt_id: _decision(entry) for entry in body.resume}
            run = await chat.begin(session, chat.resume(session, decisions))
        else:
            history, prompt = _split(body.messages)
            session, _ = chat.conversation(body.thread_id, history)
            run = await chat.begin(session, prompt, abandon_pending=True)
        return StreamingResponse(_Events(body.thread_id, body.run_id).stream(run), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _decision(entry: ResumeEntry) -> tuple[bool, str]:
    payload = entry.payload if isinstance(entry.payload, dict) else {"approved": entry.payload is not False}
    reason = str(payload.get("reason") or "")
    if entry.status == "cancelled":
        return False, reason or "cancelled"
    return payload.get("approved", True) is True, reason


def _split(messages: list[dict]) -> tuple[list[dict], Any]:
    """The history in OpenAI format and the new question (the last message, the user's)."""
    if not messages or messages[-1].get("role") != "user":
        raise ApiError(400, "bad_request", "The last message must be the user's: it is the question the agent "
                       "answers (or send `resume` to answer an interrupt).")
    converted = [_message(m) for m in messages]
    return [m for m in converted[:-1] if m is not None], converted[-1]["content"]  # type: ignore[index]


def _message(message: dict) -> dict | None:
    role, content = message.get("role"), message.get("content")
    if role == "user":
        return {"role": "user", "content": content if isinstance(content, str) else [_part(p) for p in content or []]}
    if role in ("system", "developer"):
        return {"role": role, "content": str(content or "")}
    if role == "tool":
        return {"role": "tool", "tool_call_id": str(message.get("toolCallId", "")), "content": _text(content)}
    if role == "assistant":
        calls = [{"id": c.get("id"), "type": "function", "function": c.get("function")}
                 for c in message.get("toolCalls") or []]
        return {"role": "assistant", "content": content, **({"tool_calls": calls} if calls else {})}
    return None  # activity and reasoning messages are the client's own display


def _part(part: Any) -> dict:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        return {"type": "text", "text": str(part.get("text", ""))}
    source = part.get("source") if kind == "image" else None
    if isinstance(source, dict) and source.get("type") == "url":
        return {"type": "image_url", "image_url": {"url": str(source.get("value", ""))}}
    if isinstance(source, dict) and source.get("type") == "data":
        uri = f"data:{source.get('mimeType', 'image/png')};base64,{source.get('value', '')}"
        return {"type": "image_url", "image_url": {"url": uri}}
    raise ApiError(400, "bad_request", f"A user message part of type {kind!r} is not supported here: send text "
                   "parts, and images by URL or inline data.")


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")


def _now() -> int:
    return int(time.time() * 1000)


class _Events:
    """Turns one run's events into AG-UI events, keeping the open text or reasoning message."""

    def __init__(self, thread_id: str, run_id: str) -> None:
        self.thread_id, self.run_id = thread_id, run_id
        self.text: str | None = None  # the open text message's id
        self.reasoning: str | None = None

    def _event(self, kind: str, **fields: Any) -> str:
        return f"data: {json.dumps({'type': kind, 'timestamp': _now(), **fields}, ensure_ascii=False)}\n\n"

    async def stream(self, run: Run) -> AsyncIterator[str]:
        yield self._event("RUN_STARTED", threadId=self.thread_id, runId=self.run_id, protocolVersion=PROTOCOL_VERSION)
        try:
            async for event in run.events():
                for frame in self.translate(event):
                    yield frame
            result = run.result
            run.keep_pending()
            for frame in self.close():
                yield frame
            for frame in self.finish(result):
                yield frame
        except Exception as error:  # the answer has started: the run ends with RUN_ERROR
            problem = as_api_error(error)
            for frame in self.close():
                yield frame
            yield self._event("RUN_ERROR", message=problem.message, code=problem.kind)
        finally:
            await run.close()

    def translate(self, event: Any) -> list[str]:
        kind = event.type
        if kind == "partial_output" and event.content:
            frames = self._close_reasoning()
            if self.text is None:
                self.text = f"msg_{uuid.uuid4().hex}"
                frames.append(self._event("TEXT_MESSAGE_START", messageId=self.text, role="assistant"))
            return frames + [self._event("TEXT_MESSAGE_CONTENT", messageId=self.text, delta=event.content)]
        if kind == "reasoning_delta" and event.content:
            frames = self._close_text()
            if self.reasoning is None:
                self.reasoning = f"rsn_{uuid.uuid4().hex}"
                frames += [self._event("REASONING_START", messageId=self.reasoning),
                           self._event("REASONING_MESSAGE_START", messageId=self.reasoning, role="reasoning")]
            return frames + [self._event("REASONING_MESSAGE_CONTENT", messageId=self.reasoning, delta=event.content)]
        if kind == "tool_call":  # a call that needs approval comes as one too, before approval_requested
            return self.close() + [self._event("TOOL_CALL_START", toolCallId=event.call_id, toolCallName=event.name),
                                   self._event("TOOL_CALL_ARGS", toolCallId=event.call_id, delta=event.arguments),
                                   self._event("TOOL_CALL_END", toolCallId=event.call_id)]
        if kind == "tool_response":
            return self.close() + [self._event("TOOL_CALL_RESULT", messageId=f"tool_{event.call_id}",
                                               toolCallId=event.call_id, content=event.content, role="tool")]
        if kind == "agent_handoff":
            return self.close() + [self._event("CUSTOM", name="agent_handoff",
                                               value={"agent": event.agent, "fromAgent": event.from_agent})]
        return []

    def _close_text(self) -> list[str]:
        frames = [self._event("TEXT_MESSAGE_END", messageId=self.text)] if self.text else []
        self.text = None
        return frames

    def _close_reasoning(self) -> list[str]:
        frames = ([self._event("REASONING_MESSAGE_END", messageId=self.reasoning),
                   self._event("REASONING_END", messageId=self.reasoning)] if self.reasoning else [])
        self.reasoning = None
        return frames

    def close(self) -> list[str]:
        return self._close_reasoning() + self._close_text()

    def finish(self, result: Any) -> list[str]:
        usage = [{"model": model, "inputTokens": totals[1], "outputTokens": totals[2],
                  "totalTokens": totals[1] + totals[2]} for model, totals in _by_model(result).items()]
        done = {"threadId": self.thread_id, "runId": self.run_id, **({"usage": usage} if usage else {})}
        if not result.pending_approvals:
            return [self._event("RUN_FINISHED", result=final_text(result.final_output), **done)]
        pending = [jsonable(p) for p in result.pending_approvals]
        interrupts = [{"id": p.call_id, "reason": "tool_approval", "toolCallId": p.call_id,
                       "message": f"Approve the call {p.tool_name}({p.arguments})?", "responseSchema": APPROVAL_SCHEMA}
                      for p in result.pending_approvals]
        return [self._event("STATE_SNAPSHOT", snapshot={"pendingApprovals": pending}),
                self._event("RUN_FINISHED", outcome={"type": "interrupt", "interrupts": interrupts}, **done)]


def _by_model(result: Any) -> dict[str, list[int]]:
    """The run's tokens per model: [requests, input, output]."""
    totals: dict[str, list[int]] = {}
    for entry in result.usage.per_request:
        row = totals.setdefault(entry.model, [0, 0, 0])
        row[0], row[1], row[2] = row[0] + 1, row[1] + entry.input_tokens, row[2] + entry.output_tokens
    if not totals and result.usage.requests:
        totals["agent"] = [result.usage.requests, result.usage.input_tokens, result.usage.output_tokens]
    return totals
