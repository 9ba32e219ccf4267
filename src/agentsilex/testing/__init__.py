"""Offline testing kit: scripted models, a loopback OpenAI-compatible server, and record/replay of real runs.

Each name loads its own module on first use (PEP 562): `ScriptedModel` does not bring the server or cassettes.
"""

from .._lazy import lazy_names

__all__ = ["ScriptedModel", "FunctionModel", "LoopbackServer", "call", "Fail", "Stall", "Cut", "Malformed",
           "ToolCallReply", "echo", "estimate_tokens", "record", "replay", "ReplayModel"]
__getattr__ = lazy_names(__name__, {
    "testing.script": ("ScriptedModel", "FunctionModel", "call", "Fail", "Stall", "Cut", "Malformed", "ToolCallReply",
                       "echo", "estimate_tokens"),
    "testing.server": ("LoopbackServer",), "testing.cassette": ("record", "replay", "ReplayModel")})


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
