"""What LiteLLM's bundled model table says about a model, read as plain JSON: LiteLLM itself is not imported.

The native OpenAI path uses it to decide, for a model string, what LiteLLM would decide for the same string
(e.g. whether `response_format` with a JSON schema is supported), so both paths send the same request shape.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
from typing import Any

TABLE_FILE = "model_prices_and_context_window_backup.json"


@functools.cache
def _table() -> dict[str, Any]:
    spec = importlib.util.find_spec("litellm")  # finds the package without running its (slow) __init__
    if spec is None or not spec.submodule_search_locations:
        return {}
    try:
        with open(os.path.join(list(spec.submodule_search_locations)[0], TABLE_FILE), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def model_info(name: str) -> dict[str, Any]:
    """The table's entry for `name` ("gpt-4o" or "openai/gpt-4o"), or {} for a model it does not list."""
    table = _table()
    return table.get(name) or table.get(name.partition("/")[2]) or {}
