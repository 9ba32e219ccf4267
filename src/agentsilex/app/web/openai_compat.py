"""The served agent as an OpenAI-compatible model: `GET /v1/models`, `POST /v1/chat/completions`.

Any OpenAI client, chat UI or gateway can use the agent as if it were a model (id = the agent's name). The
client's messages are the conversation; the last one is the user's question. The agent's own tools run here,
on the server; the reply carries the final answer, `finish_reason` and the run's usage (every model call the
run made), and streams as standard `chat.completion.chunk` Server-Sent Events with `"stream": true`.

Extensions, which OpenAI clients ignore: each reply has an `agentsilex` object (the session, the tool calls
that ran, the calls waiting for approval); a stream sends one chunk with an empty delta and an `agentsilex`
object per tool call and result, and the model's reasoning as `delta.reasoning_content`.

`X-Agentsilex-Session: <id>` continues a stored session instead (the web chat's store, created on first
use): its history is the conversation and only the last message of the request is new. Sampling options
(`temperature`, ...) are the agent's to decide and are ignored; client-side `tools` are refused (400).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, AsyncIterator, Literal

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ..common import jsonable
from .runs import MAX_MESSAGES, ApiError, Chat, Run, as_api_error, final_text, waiting_text

SESSION_HEADER = "X-Agentsilex-Session"
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "invalid_request_error",
               409: "conflict_error", 413: "invalid_request_error", 422: "invalid_request_error"}
ERROR_CODES = {"unknown_model": "model_not_found", "unauthorized": "invalid_api_key"}


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict] | None = None
    name: str | None = None
    tool_calls: list[dict] | None = None
    tool_call_id: str | None = None


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, top_p, user, ...: the agent's settings decide
    model: str
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    stream_options: dict | None = None
    tools: list[dict] | None = None


def openai_error(status: int, kind: str, message: str) -> dict:
    """OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`."""
    kind_type = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind_type, "param": "model" if kind == "unknown_model" else None,
                      "code": ERROR_CODES.get(kind, kind)}}


def mount(app: FastAPI, chat: Chat) -> None:
    app.state.error_shapes.append(("/v1/", openai_error))

    @app.get("/v1/models", tags=["OpenAI-compatible"])
    def models() -> dict:
        """The served agents, as models (id = the agent's name)."""
        return {"object": "list", "data": [{"id": chat.agent.name, "object": "model", "created": 0,
                                            "owned_by": "agentsilex"}]}

    @app.post("/v1/chat/completions", tags=["OpenAI-compatible"], response_model=None)
    async def completions(body: ChatRequest, request: Request,
                          session_id: str | None = Header(None, alias=SESSION_HEADER)) -> Any:
        """Run the agent on the messages; the answer as a chat completion (SSE chunks with `stream`)."""
        if body.model != chat.agent.name:
            raise ApiError(404, "unknown_model", f"The model {body.model!r} does not exist here: this server "
                           f"serves the agent {chat.agent.name!r} (GET /v1/models lists it).")
        if body.tools:
            raise ApiError(400, "unsupported_tools", "This endpoint runs the agent with its own tools, on the "
                           "server; client-side tools are not supported. Leave 'tools' out.")
        history, prompt = _split(body.messages)
        session, stored = chat.conversation(session_id, history)
        run = await chat.begin(session, prompt, stored=stored, abandon_pending=True)
        reply = _Reply(chat.agent.name, session_id)
        headers = {SESSION_HEADER: session_id} if session_id else {}
        if not body.stream:
            return JSONResponse(await reply.whole(run), headers=headers)
        usage = bool((body.stream_options or {}).get("include_usage"))
        return StreamingResponse(reply.chunks(run, usage), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no", **headers})


def _split(messages: list[ChatMessage]) -> tuple[list[dict], Any]:
    """The history (OpenAI-format dicts) and the prompt: the last message, which must be the user's."""
    dumped = [m.model_dump(exclude_none=True, exclude=set(m.model_extra or {})) for m in messages]
    last = dumped[-1]
    if last["role"] != "user" or not last.get("content"):
        raise ApiError(400, "bad_request", "The last message must be the user's, with content: it is the "
                       "question the agent answers.")
    return dumped[:-1], last["content"]


class _Reply:
    """One chat completion, whole or as chunks."""

    def __init__(self, model: str, session_id: str | None) -> None:
        self.model, self.session_id = model, session_id
        self.id, self.created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def _envelope(self, kind: str) -> dict:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def _extension(self, result: Any) -> dict:
        return {"session": self.session_id,
                "tool_calls": [{"call_id": c.call_id, "name": c.name, "arguments": c.arguments,
                                "content": c.content, "error": c.error} for c in result.function_calls],
                "pending_approvals": [jsonable(p) for p in result.pending_approvals]}

    async def whole(self, run: Run) -> dict:
        try:
            async for _ in run.events():
                pass
            result = run.result
            run.keep_pending()
        except Exception as error:
            raise as_api_error(error) from None
        finally:
            await run.close()
        text = waiting_text(result.pending_approvals) if result.pending_approvals else final_text(result.final_output)
        return {**self._envelope("chat.completion"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": _finish(result), "logprobs": None}],
                "usage": _usage(result.usage), "agentsilex": self._extension(result)}

    def _chunk(self, delta: dict, finish: str | None = None, **extra: Any) -> str:
        data = {**self._envelope("chat.completion.chunk"),
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    async def chunks(self, run: Run, usage: bool) -> AsyncIterator[str]:
        try:
            yield self._chunk({"role": "assistant", "content": ""})
            async for event in run.events():
                if event.type == "partial_output" and event.content:
                    yield self._chunk({"content": event.content})
                elif event.type == "reasoning_delta" and event.content:
                    yield self._chunk({"reasoning_content": event.content})
                elif event.type in ("tool_call", "tool_response", "agent_handoff"):
                    data = {key: value for key, value in event.data.items() if not key.startswith("func_")}
                    yield self._chunk({}, agentsilex={"type": event.type, **jsonable(data)})
            result = run.result
            run.keep_pending()
            if result.pending_approvals:
                yield self._chunk({"content": waiting_text(result.pending_approvals)})
            yield self._chunk({}, _finish(result), agentsilex=self._extension(result))
            if usage:  # OpenAI's usage chunk: no choices
                data = {**self._envelope("chat.completion.chunk"), "choices": [], "usage": _usage(result.usage)}
                yield f"data: {json.dumps(data)}\n\n"
            yield "data: [DONE]\n\n"
        except Exception as error:  # the answer has started: OpenAI clients raise on an `error` frame
            problem = as_api_error(error)
            yield f"data: {json.dumps(openai_error(problem.status, problem.kind, problem.message))}\n\n"
        finally:
            await run.close()


def _finish(result: Any) -> str:
    return "length" if result.finish_reason == "length" else "stop"


def _usage(usage: Any) -> dict:
    return {"prompt_tokens": usage.input_tokens, "completion_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens}
