"""The Vercel AI SDK UI message stream: `POST /api/vercel/chat`, so a `useChat` front end works unchanged.

Takes what `useChat`'s default transport sends (`{"id", "messages": [UIMessage], "trigger"}`) and answers
with the UI message stream protocol (v1): Server-Sent Events of JSON chunks, `data: [DONE]` last, and the
header `x-vercel-ai-ui-message-stream: v1`. Mapping: `start`, `start-step`/`finish-step` around each model
turn, text as `text-start`/`text-delta`/`text-end`, reasoning as `reasoning-*`, a tool call as
`tool-input-start` + `tool-input-available` (`dynamic: true`: the tools are the server's, unknown to the
client), its result as `tool-output-available` (or `tool-output-error`), a handoff as `data-agent-handoff`,
a failure as `error`, then `finish`.

A call that needs approval is a `tool-approval-request` (AI SDK 6): the client's `addToolApprovalResponse`
sends the decision back in the messages and the run resumes. The chat `id` names the conversation in the web
chat's store (created on first use); its history is the conversation and the last user message is the new
question (an empty one starts from the client's messages).
"""

from __future__ import annotations

import json
import uuid
from typing import Any, AsyncIterator

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from .runs import MAX_MESSAGES, ApiError, Chat, Run, as_api_error

HEADERS = {"x-vercel-ai-ui-message-stream": "v1", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}


class UIChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # the transport's `body` options
    id: str
    messages: list[dict] = Field(min_length=1, max_length=MAX_MESSAGES)
    trigger: str = "submit-message"


def vercel_error(status: int, kind: str, message: str) -> dict:
    """A refused request, as the stream's own error chunk (useChat shows the response text)."""
    return {"type": "error", "errorText": message, "code": kind}


def mount(app: FastAPI, chat: Chat) -> None:
    app.state.error_shapes.append(("/api/vercel/", vercel_error))

    @app.post("/api/vercel/chat", tags=["Vercel AI SDK"])
    async def ui_chat(body: UIChatRequest) -> StreamingResponse:
        """Run the agent for a `useChat` front end; the answer as a UI message stream."""
        decisions = _approval_responses(body.messages[-1])
        stream = _Stream()
        if decisions:  # the answer goes on in the assistant message that asked for approval
            stream.resumed(str(body.messages[-1].get("id") or ""), {i for i, (yes, _) in decisions.items() if not yes})
            session, _ = chat.conversation(body.id, [])
            run = await chat.begin(session, chat.resume(session, decisions))
        else:
            history, prompt = _split(body.messages)
            session, _ = chat.conversation(body.id, history)
            run = await chat.begin(session, prompt, abandon_pending=True)
        return StreamingResponse(stream.chunks(run), media_type="text/event-stream", headers=HEADERS)


def _approval_responses(message: dict) -> dict[str, tuple[bool, str]]:
    """The decisions in an assistant message the client sent back after `addToolApprovalResponse`."""
    if message.get("role") != "assistant":
        return {}
    found = {}
    for part in message.get("parts") or []:
        approval = part.get("approval") if isinstance(part, dict) else None
        if part.get("state") == "approval-responded" and isinstance(approval, dict):
            found[str(part.get("toolCallId"))] = (approval.get("approved") is True, str(approval.get("reason") or ""))
    return found


def _split(messages: list[dict]) -> tuple[list[dict], Any]:
    if messages[-1].get("role") != "user":
        raise ApiError(400, "bad_request", "The last message must be the user's: it is the question the agent "
                       "answers (or an assistant message with tool approval responses).")
    converted = [_message(m) for m in messages]
    return [m for m in converted[:-1] if m is not None], converted[-1]["content"]  # type: ignore[index]


def _message(message: dict) -> dict | None:
    """A UIMessage as an OpenAI-format message: its text and file parts (tool parts are the server's own)."""
    role = message.get("role")
    parts = [p for p in message.get("parts") or [] if isinstance(p, dict)]
    text = "".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")
    if role == "user":
        files = [{"type": "image_url", "image_url": {"url": str(p.get("url", ""))}} for p in parts
                 if p.get("type") == "file" and str(p.get("mediaType", "")).startswith("image/")]
        return {"role": "user", "content": [{"type": "text", "text": text}, *files] if files else text}
    if role in ("system", "assistant") and text:
        return {"role": role, "content": text}
    return None


class _Stream:
    """One run as UI message stream chunks, keeping the open text or reasoning part and the step."""

    def __init__(self) -> None:
        self.message_id = f"msg_{uuid.uuid4().hex}"
        self.text: str | None = None
        self.reasoning: str | None = None
        self.in_step, self.step_done = False, False  # tools ran: the next model turn is a new step
        self.denied: set[str] = set()

    def resumed(self, message_id: str, denied: set[str]) -> None:
        """A resumed run: it continues the client's message, and starts by running (or refusing) the calls."""
        self.message_id, self.denied = message_id or self.message_id, denied

    @staticmethod
    def _chunk(kind: str, **fields: Any) -> str:
        return f"data: {json.dumps({'type': kind, **fields}, ensure_ascii=False)}\n\n"

    async def chunks(self, run: Run) -> AsyncIterator[str]:
        yield self._chunk("start", messageId=self.message_id)
        try:
            async for event in run.events():
                for frame in self.translate(event):
                    yield frame
            result = run.result
            run.keep_pending()
            for frame in self.close():
                yield frame
            if self.in_step:
                yield self._chunk("finish-step")
            yield self._chunk("finish", finishReason=_finish_reason(result))
        except Exception as error:  # the answer has started: report it in the stream
            yield self._chunk("error", errorText=as_api_error(error).message)
        finally:
            await run.close()
        yield "data: [DONE]\n\n"

    def translate(self, event: Any) -> list[str]:
        kind = event.type
        if kind not in ("partial_output", "reasoning_delta", "tool_call", "approval_requested", "tool_response",
                        "agent_handoff") or (kind in ("partial_output", "reasoning_delta") and not event.content):
            return []
        frames = self._new_step() if kind != "tool_response" else []
        if kind == "partial_output":
            frames += self._close_reasoning()
            if self.text is None:
                self.text = f"txt_{uuid.uuid4().hex}"
                frames.append(self._chunk("text-start", id=self.text))
            return frames + [self._chunk("text-delta", id=self.text, delta=event.content)]
        if kind == "reasoning_delta":
            frames += self._close_text()
            if self.reasoning is None:
                self.reasoning = f"rsn_{uuid.uuid4().hex}"
                frames.append(self._chunk("reasoning-start", id=self.reasoning))
            return frames + [self._chunk("reasoning-delta", id=self.reasoning, delta=event.content)]
        frames += self.close()
        if kind == "tool_call":  # a call that needs approval comes as one too, before approval_requested
            return frames + [self._chunk("tool-input-start", toolCallId=event.call_id, toolName=event.name,
                                         dynamic=True),
                             self._chunk("tool-input-available", toolCallId=event.call_id, toolName=event.name,
                                         input=_arguments(event.arguments), dynamic=True)]
        if kind == "approval_requested":
            return frames + [self._chunk("tool-approval-request", approvalId=event.call_id, toolCallId=event.call_id)]
        if kind == "tool_response":
            self.step_done = True
            if event.call_id in self.denied:
                return frames + [self._chunk("tool-output-denied", toolCallId=event.call_id)]
            if event.error:
                return frames + [self._chunk("tool-output-error", toolCallId=event.call_id, errorText=event.content,
                                             dynamic=True)]
            return frames + [self._chunk("tool-output-available", toolCallId=event.call_id, output=event.content,
                                         dynamic=True)]
        return frames + [self._chunk("data-agent-handoff", data={"agent": event.agent, "fromAgent": event.from_agent})]

    def _new_step(self) -> list[str]:
        if self.in_step and not self.step_done:
            return []
        frames = self.close() + ([self._chunk("finish-step")] if self.in_step else [])
        self.in_step, self.step_done = True, False
        return frames + [self._chunk("start-step")]

    def _close_text(self) -> list[str]:
        frames = [self._chunk("text-end", id=self.text)] if self.text else []
        self.text = None
        return frames

    def _close_reasoning(self) -> list[str]:
        frames = [self._chunk("reasoning-end", id=self.reasoning)] if self.reasoning else []
        self.reasoning = None
        return frames

    def close(self) -> list[str]:
        return self._close_reasoning() + self._close_text()


def _finish_reason(result: Any) -> str:
    if result.pending_approvals:
        return "tool-calls"  # it stopped at calls waiting for a decision
    return "length" if result.finish_reason == "length" else "stop"


def _arguments(arguments: str) -> Any:
    try:
        return json.loads(arguments) if arguments else {}
    except json.JSONDecodeError:
        return arguments  # as the model sent it: the tool's result says what was wrong
