"""LiteLLM's bundled model table, read without importing LiteLLM: what it says about a model, and prices.

The table is the JSON file that ships inside the litellm package (`model_prices_and_context_window_backup.json`, about
5,000 models). Reading it here keeps a new OpenAI model name a data change, not a code change (routing in
`models.routing` asks it), and keeps LiteLLM (seconds to import, ~200 MB) off the native path. The file is read once, on
first use; an entry is parsed only when asked for (parsing all of it costs ~0.1-0.2 s and ~20 MB, a lookup costs
microseconds).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import sys
import threading
from pathlib import Path
from typing import Any

TABLE_FILE = "model_prices_and_context_window_backup.json"
_text: str | None = None
_lock = threading.Lock()
_decoder = json.JSONDecoder()
_TIER = re.compile(r"input_cost_per_token_above_(\d+)(k?)_tokens")


def _table_text() -> str:
    global _text
    if _text is None:
        with _lock:
            if _text is None:
                _text = _read_table()
    return _text


def table_path() -> Path | None:
    """Where the installed litellm package keeps its model table (found without importing litellm)."""
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return Path(locations[0]) / TABLE_FILE if locations else None


def _read_table() -> str:
    path = table_path()
    try:
        raw = path.read_text(encoding="utf-8") if path is not None else "{}"
    except OSError:
        return "{}"
    if raw.startswith('{\n    "'):
        return raw
    # Not laid out as LiteLLM writes it today: re-lay it out once so the lookup below stays a text search.
    return json.dumps(json.loads(raw), indent=4)


@functools.lru_cache(maxsize=1024)
def model_info(name: str) -> dict[str, Any] | None:
    """LiteLLM's table entry for `name` (exactly as LiteLLM ships it), or None when the table has no such key."""
    text, key = _table_text(), json.dumps(name) + ": {"
    at = text.find(key)
    while at >= 0:
        # A top-level key starts a line indented by at most 4 spaces (LiteLLM writes 4; nested keys have 8+).
        line_start = text.rfind("\n", 0, at) + 1
        if at - line_start <= 4 and not text[line_start:at].strip():
            entry, _ = _decoder.raw_decode(text, at + len(key) - 1)
            return entry if isinstance(entry, dict) else None
        at = text.find(key, at + 1)
    return None


def price_entry(model: str) -> dict[str, Any] | None:
    """The table entry that prices `model`: its full name first, then without its provider prefix."""
    name = model.removeprefix("litellm/")
    info = model_info(name)
    if info is None and "/" in name:
        info = model_info(name.split("/", 1)[1])
    return info if info is not None and "input_cost_per_token" in info else None


def cost_usd(model: str, input_tokens: int, output_tokens: int) -> float | None:
    """USD price of one request from the table (None when the model has no price), as LiteLLM computes it
    from token counts: per-token input and output prices, with the higher tier when the prompt passes one."""
    info = price_entry(model)
    if info is None:
        return None
    input_price, output_price = info.get("input_cost_per_token") or 0.0, info.get("output_cost_per_token") or 0.0
    tiers = sorted((int(m.group(1)) * (1000 if m.group(2) else 1), m.group(1) + m.group(2))
                   for m in map(_TIER.fullmatch, info) if m and info[m.group(0)] is not None)
    for threshold, label in tiers:
        if input_tokens > threshold:
            input_price = info[f"input_cost_per_token_above_{label}_tokens"]
            output_price = info.get(f"output_cost_per_token_above_{label}_tokens") or output_price
    return float(input_price) * input_tokens + float(output_price) * output_tokens


def request_cost(model: str, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0,
                 cache_write_tokens: int = 0) -> float | None:
    """USD price of one request: from the table, else from LiteLLM's live table when litellm is already imported
    (where `litellm.register_model(...)` puts prices); cache reads and writes at their own prices."""
    cost = cost_usd(model, input_tokens, output_tokens)
    litellm = sys.modules.get("litellm")
    prices = price_entry(model)
    if cost is None and litellm is not None:
        try:
            prompt, completion = litellm.cost_per_token(
                model=model.removeprefix("litellm/"), prompt_tokens=input_tokens, completion_tokens=output_tokens)
            prices = dict(litellm.get_model_info(model.removeprefix("litellm/")))
        except Exception:  # litellm raises for models missing from its table
            return None
        cost = float(prompt) + float(completion)
    if cost is None or not (cached_input_tokens or cache_write_tokens):
        return cost
    base = (prices or {}).get("input_cost_per_token") or 0.0
    prices = prices or {}
    read, write = prices.get("cache_read_input_token_cost"), prices.get("cache_creation_input_token_cost")
    return (cost + (0.0 if read is None else cached_input_tokens * (read - base))
            + (0.0 if write is None else cache_write_tokens * (write - base)))


def is_reasoning_model(model: str) -> bool:
    """OpenAI's o-series and gpt-5 family, which take `max_completion_tokens` instead of `max_tokens`
    (named as LiteLLM names them: "o<digit>..." listed as an OpenAI model, or "gpt-5"/"gpt-6" but not
    "gpt-5-chat")."""
    name = model.removeprefix("openai/")
    return _is_o_series(name) or (any(marker in name for marker in ("gpt-5", "gpt-6")) and "gpt-5-chat" not in name)


def system_as_user(model: str) -> bool:
    """Whether LiteLLM sends this model's system messages as user messages: o-series models whose table entry
    does not say `supports_system_messages: true`."""
    name = model.removeprefix("openai/")
    return _is_o_series(name) and not (model_info(name) or {}).get("supports_system_messages")


def _is_o_series(name: str) -> bool:
    if len(name) > 1 and name[0] == "o" and name[1].isdigit():
        return (model_info(name) or {}).get("litellm_provider") == "openai"
    return False
