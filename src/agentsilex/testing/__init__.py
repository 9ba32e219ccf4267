"""Offline testing kit: scripted models, a loopback OpenAI-compatible server, and record/replay of real runs."""

from .cassette import ReplayModel, record, replay
from .script import Cut, Fail, FunctionModel, Malformed, ScriptedModel, Stall, ToolCallReply, call, echo, estimate_tokens
from .server import LoopbackServer

__all__ = ["ScriptedModel", "FunctionModel", "LoopbackServer", "call", "Fail", "Stall", "Cut", "Malformed",
           "ToolCallReply", "echo", "estimate_tokens", "record", "replay", "ReplayModel"]
