"""MCP server configs: the dicts agentsilex 1.0 took, URLs, and Claude-Desktop style `mcpServers` files."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError

_STDIO_KEYS = {"command", "args", "env", "cwd", "encoding", "encoding_error_handler"}
_HTTP_KEYS = {"url", "headers"}
_TRANSPORTS = {"stdio": "stdio", "http": "http", "streamable-http": "http", "streamable_http": "http",
               "streamableHttp": "http", "sse": "sse"}
# agentsilex options that may also sit in a config entry (so each server of a file can have its own).
OPTION_KEYS = {"name", "prefix", "allow", "deny", "needs_approval", "connect_timeout", "list_timeout",
               "call_timeout", "max_result_chars", "max_description_chars"}
# Keys other MCP clients write into the same files; harmless here.
_FOREIGN_KEYS = {"description", "autoApprove", "alwaysAllow", "disabled", "timeout"}


@dataclass(frozen=True)
class Transport:
    """How to reach one server: a process over stdio, streamable HTTP, or legacy SSE."""

    kind: str  # "stdio" | "http" | "sse"
    command: str = ""
    args: tuple[str, ...] = ()
    env: dict[str, str] | None = None
    cwd: str | None = None
    encoding: dict[str, Any] = field(default_factory=dict)  # encoding, encoding_error_handler
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        if self.kind == "stdio":
            return " ".join([os.path.basename(self.command), *self.args])[:80]
        return self.url


def parse(config: dict[str, Any]) -> tuple[Transport, dict[str, Any]]:
    """One server's config: its transport, and the agentsilex options it carries."""
    if not isinstance(config, dict):
        raise UserError(f"An MCP server config must be a dict such as {{'command': 'npx', 'args': [...]}} or "
                        f"{{'url': 'http://host/mcp'}}, got {type(config).__name__}.")
    unknown = set(config) - _STDIO_KEYS - _HTTP_KEYS - OPTION_KEYS - _FOREIGN_KEYS - {"type", "transport"}
    if unknown:
        raise UserError(f"Unknown MCP server config keys: {', '.join(sorted(unknown))}. A stdio server takes "
                        f"{sorted(_STDIO_KEYS)}, an HTTP server {sorted(_HTTP_KEYS)} and 'transport', and both "
                        f"take the options {sorted(OPTION_KEYS)}.")
    options = {key: config[key] for key in OPTION_KEYS if key in config}
    declared = config.get("transport", config.get("type"))
    if declared is not None and declared not in _TRANSPORTS:
        raise UserError(f"Unknown MCP transport {declared!r}: use 'stdio', 'streamable-http' or 'sse'.")
    if ("command" in config) == ("url" in config):
        raise UserError("An MCP server config needs exactly one of 'command' (a local server over stdio) or "
                        f"'url' (a remote one over HTTP); got keys {sorted(config)}.")
    if "command" in config:
        if declared not in (None, "stdio"):
            raise UserError(f"MCP server config has a 'command' but transport {declared!r}; drop one.")
        return _stdio(config), options
    kind = _TRANSPORTS[declared] if declared else ("sse" if _path_of(config["url"]).endswith("/sse") else "http")
    if kind == "stdio":
        raise UserError("MCP server config says transport 'stdio' but has a 'url' instead of a 'command'.")
    url, headers = config["url"], config.get("headers") or {}
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise UserError(f"MCP server url must start with http:// or https://, got {url!r}.")
    if not _str_dict(headers):
        raise UserError(f"MCP server headers must map strings to strings, got {headers!r}.")
    return Transport(kind, url=url, headers=dict(headers)), options


def _stdio(config: dict[str, Any]) -> Transport:
    command, args, env = config["command"], config.get("args") or [], config.get("env")
    if not isinstance(command, str) or not command:
        raise UserError(f"MCP server 'command' must be a non-empty string, got {command!r}.")
    if not isinstance(args, (list, tuple)) or not all(isinstance(arg, str) for arg in args):
        raise UserError(f"MCP server 'args' must be a list of strings, got {args!r}.")
    if env is not None and not _str_dict(env):
        raise UserError(f"MCP server 'env' must map strings to strings, got {env!r}.")
    cwd = config.get("cwd")
    encoding: dict[str, Any] = {key: config[key] for key in ("encoding", "encoding_error_handler") if key in config}
    return Transport("stdio", command=command, args=tuple(args), env=dict(env) if env is not None else None,
                     cwd=str(cwd) if cwd is not None else None, encoding=encoding)


def servers_in(config: dict[str, Any] | str | os.PathLike) -> dict[str, dict[str, Any]] | None:
    """The named servers of a Claude-Desktop style config (a dict or a JSON file), or None for a single
    server's config. Servers marked "disabled" are left out."""
    if isinstance(config, (str, os.PathLike)):
        path = Path(config)
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"MCP config file {str(path)!r} does not exist.") from None
        except json.JSONDecodeError as exc:
            raise UserError(f"MCP config file {str(path)!r} is not valid JSON: {exc}.") from None
        if not isinstance(config, dict):
            raise UserError(f"MCP config file {str(path)!r} must hold a JSON object.")
        if "mcpServers" not in config:
            return {config.get("name") or path.stem: config}
    if not isinstance(config, dict) or "mcpServers" not in config:
        return None
    servers = config["mcpServers"]
    if not isinstance(servers, dict) or not all(isinstance(entry, dict) for entry in servers.values()):
        raise UserError("'mcpServers' must map server names to server configs.")
    return {name: entry for name, entry in servers.items() if not entry.get("disabled")}


def _path_of(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/")


def _str_dict(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


class ByName:
    """needs_approval given as tool names (the server's or the prefixed ones)."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def __call__(self, server_name: str, name: str) -> bool:
        return server_name in self.names or name in self.names


def approval_policy(value: Any) -> Any:
    if isinstance(value, bool) or callable(value):
        return value
    if isinstance(value, (list, tuple, set, frozenset)) and all(isinstance(name, str) for name in value):
        return ByName(set(value))
    raise UserError(f"needs_approval must be True/False, a list of tool names or fn(context, arguments) -> bool, "
                    f"got {value!r}.")


def tool_names(value: Any, option: str) -> set[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not all(isinstance(name, str) for name in value):
        raise UserError(f"{option}= must be a list of tool names, got {value!r}.")
    return set(value)


def seconds(options: dict[str, Any], key: str, default: float) -> float:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise UserError(f"{key} must be a positive number of seconds, got {value!r}.")
    return float(value)
