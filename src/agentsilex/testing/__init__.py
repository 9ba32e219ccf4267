"""Offline testing kit: scripted models and a loopback OpenAI-compatible server."""

from .script import Fail, FunctionModel, ScriptedModel, ToolCallReply, call, echo, estimate_tokens
from .server import LoopbackServer

__all__ = ["ScriptedModel", "FunctionModel", "LoopbackServer", "call", "Fail", "ToolCallReply", "echo",
           "estimate_tokens"]
