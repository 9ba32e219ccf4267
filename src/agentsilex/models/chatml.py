"""A small ChatML tool handler for local models: the prompt format in, tool calls out. No llama.cpp here.

The prompt is ChatML (`<|im_start|>role ... <|im_end|>`), as SmolLM2, Qwen and Hermes models are trained on.
Tools are listed in the system message inside `<tools></tools>`; the model calls one by writing
`<tool_call>{"name": ..., "arguments": {...}}</tool_call>`; results go back as `<tool_response>`s in a "tool" turn.
Unlike llama-cpp-python's stock "chatml-function-calling" handler, tool results are part of the prompt (it
drops them) and a follow-up turn may call tools again or answer in words (it can only do one or the other).
"""

from __future__ import annotations

import json
import re
from typing import Any

START, END = "<|im_start|>", "<|im_end|>"
STOP = [END, "<|endoftext|>"]
TOOL_ROLE = "tool"  # Hermes' choice; SmolLM2 answers from a result in a "tool" turn, and parrots one in "user"
CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
_CALL = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|\Z)", re.DOTALL)

TOOLS_NOTE = """You can call functions. They are described in JSON inside <tools></tools>:
<tools>
{tools}
</tools>
To call one, answer with only this, and nothing before it:
<tool_call>
{{"name": "<function name>", "arguments": {{<the arguments as a JSON object>}}}}
</tool_call>
When you have what you need, answer the user in plain words."""


def render(messages: list[dict], tools: list[dict], forced: str | None = None) -> str:
    """The ChatML prompt for `messages`, ending where the assistant speaks next.

    `forced` (a tool name, or "" for any tool) makes the assistant's turn start with `<tool_call>`."""
    system = [_text(m) for m in messages[:1] if m.get("role") == "system"]
    if tools:
        specs = "\n".join(json.dumps(t.get("function", t)) for t in tools)
        system.append(TOOLS_NOTE.format(tools=specs))
    parts = [_turn("system", "\n\n".join(system))] if system else []
    names = {c["id"]: c["function"]["name"] for m in messages for c in m.get("tool_calls") or []}
    results: list[str] = []
    for message in messages[1 if system and messages[0].get("role") == "system" else 0:]:
        role = message.get("role")
        if role == "tool":  # consecutive results travel together, in one "tool" turn
            name = names.get(message.get("tool_call_id"), "")
            results.append(f"<tool_response>\n{json.dumps({'name': name, 'content': _text(message)})}\n"
                           "</tool_response>")
            continue
        if results:
            parts.append(_turn(TOOL_ROLE, "\n".join(results)))
            results = []
        parts.append(_turn(role or "user", _assistant_text(message) if role == "assistant" else _text(message)))
    if results:
        parts.append(_turn(TOOL_ROLE, "\n".join(results)))
    opening = f"{START}assistant\n" + (f"{CALL_OPEN}\n" if forced is not None else "")
    return "".join(parts) + opening


def call_schema(tools: list[dict], name: str = "") -> dict:
    """JSON schema of one call object, `{"name": ..., "arguments": {...}}`, for a grammar that forces a call."""
    choices = [t["function"] for t in tools if not name or t["function"]["name"] == name]
    shapes = [{"type": "object", "properties": {"name": {"const": f["name"]},
                                                "arguments": f.get("parameters") or {"type": "object"}},
               "required": ["name", "arguments"]} for f in choices]
    return shapes[0] if len(shapes) == 1 else {"anyOf": shapes}


def parse(text: str) -> tuple[str | None, list[tuple[str, str]]]:
    """(text before any call, [(name, arguments JSON), ...]) from what the model wrote.

    Anything that is not a well-formed call stays text: the model's words are never lost."""
    if CALL_OPEN not in text:
        return text or None, []
    calls = []
    for block in _CALL.findall(text):
        try:
            data = json.loads(block, strict=False)
        except ValueError:
            return text or None, []
        for item in data if isinstance(data, list) else [data]:
            if not (isinstance(item, dict) and isinstance(item.get("name"), str)):
                return text or None, []
            arguments = item.get("arguments", item.get("parameters", {}))
            calls.append((item["name"], arguments if isinstance(arguments, str) else json.dumps(arguments)))
    return text.split(CALL_OPEN)[0].rstrip() or None, calls


def shown_so_far(text: str) -> str:
    """The part of a reply being streamed that is surely words: not a call, nor the start of one."""
    start = text.lstrip()
    if start.startswith(CALL_OPEN) or CALL_OPEN.startswith(start):
        return ""  # it may still be a call: show nothing yet
    if CALL_OPEN in text:
        return text[:text.index(CALL_OPEN)]
    for size in range(min(len(CALL_OPEN) - 1, len(text)), 0, -1):  # hold back what may begin "<tool_call>"
        if CALL_OPEN.startswith(text[-size:]):
            return text[:-size]
    return text


def _turn(role: str, content: str) -> str:
    return f"{START}{role}\n{content}{END}\n"


def _text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, list):  # multi-part content: the text parts
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


def _assistant_text(message: dict) -> str:
    calls = [f"{CALL_OPEN}\n" + json.dumps({"name": c["function"]["name"], "arguments": _arguments(c)})
             + f"\n{CALL_CLOSE}" for c in message.get("tool_calls") or []]
    return "\n".join(([_text(message)] if _text(message) else []) + calls)


def _arguments(call: dict) -> Any:
    raw = call["function"].get("arguments") or "{}"
    try:
        return json.loads(raw, strict=False)
    except ValueError:
        return raw  # kept as the model wrote it
