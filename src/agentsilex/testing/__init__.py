"""Offline testing kit: scripted models and a loopback OpenAI-compatible server."""

from .script import Cut, Fail, Malformed, FunctionModel, ScriptedModel, Stall, ToolCallReply, call, echo, estimate_tokens
from .server import LoopbackServer

__all__ = ["ScriptedModel", "FunctionModel", "LoopbackServer", "call", "Fail", "Stall", "Cut", "Malformed", "ToolCallReply", "echo",
           "estimate_tokens"]
