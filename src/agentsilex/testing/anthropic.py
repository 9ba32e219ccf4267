"""Anthropic's Messages format, translated to and from OpenAI's for the loopback server's scripts (the emulated
message batches of testing/batches.py): just what an agent run sends and gets back (text, tool use, tool
results, a system prompt, tools)."""

from __future__ import annotations

import json
from typing import Any


def openai_body(params: dict) -> dict:
    """An Anthropic Messages request as the OpenAI chat body a script reads."""
    system = params.get("system")
    if isinstance(system, list):
        system = "".join(block.get("text", "") for block in system)
    messages = [{"role": "system", "content": system}] if system else []
    for message in params.get("messages") or []:
        messages += _openai_messages(message)
    tools = [{"type": "function", "function": {"name": t["name"], "description": t.get("description", ""),
                                               "parameters": t.get("input_schema") or {}}}
             for t in params.get("tools") or []]
    return {"model": params.get("model"), "messages": messages, **({"tools": tools} if tools else {})}


def _openai_messages(message: dict) -> list[dict]:
    content = message.get("content")
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])
    text = "".join(block.get("text", "") for block in blocks if block.get("type") == "text")
    if message.get("role") == "assistant":
        calls = [{"id": b["id"], "type": "function", "function": {"name": b["name"], "arguments": json.dumps(
            b.get("input") or {})}} for b in blocks if b.get("type") == "tool_use"]
        return [{"role": "assistant", "content": text or None, **({"tool_calls": calls} if calls else {})}]
    results = [{"role": "tool", "tool_call_id": b["tool_use_id"], "content": _text(b.get("content"))}
               for b in blocks if b.get("type") == "tool_result"]
    return results + ([{"role": "user", "content": text}] if text else [])


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(block.get("text", "") for block in content if isinstance(block, dict))
    return "" if content is None else str(content)


def to_anthropic(completion: dict) -> dict:
    """An OpenAI chat completion (the script's reply) as the Anthropic message it would have been."""
    choice = (completion.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    content: list[dict] = [{"type": "text", "text": message["content"]}] if message.get("content") else []
    content += [{"type": "tool_use", "id": call["id"], "name": call["function"]["name"],
                 "input": json.loads(call["function"]["arguments"] or "{}")}
                for call in message.get("tool_calls") or []]
    usage = completion.get("usage") or {}
    return {"id": f"msg_{completion.get('id', '0')}", "type": "message", "role": "assistant",
            "model": completion.get("model"), "content": content,
            "stop_reason": "tool_use" if message.get("tool_calls") else "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": usage.get("prompt_tokens", 0),
                      "output_tokens": usage.get("completion_tokens", 0)}}
