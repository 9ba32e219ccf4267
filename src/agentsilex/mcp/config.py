"""MCP server configs: the dicts agentsilex 1.0 took, URLs, and Claude-Desktop style `mcpServers` files.

`${VAR}` and `${VAR:-default}` in `command`, `args`, `env`, `cwd`, `url` and `headers` are replaced with the
environment's values when the config is read; an unset variable with no default is a `UserError` naming it.

A stdio server's environment, from the bottom up: the MCP SDK's small safe set (`HOME`, `LOGNAME`, `PATH`,
`SHELL`, `TERM`, `USER`), then the variables a server needs to reach a package registry or the network
(`DEFAULT_PASS_ENV`: proxies, CA bundles, `npm_config_*`), then those named in the server's `pass_env`
(names, or patterns such as `"AWS_*"`), then its `env`. Nothing else of this process's environment (API keys,
tokens) reaches a server unless named.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import unquote, urlsplit

from ..errors import UserError
from ..redaction import remember

_STDIO_KEYS = {"command", "args", "env", "pass_env", "cwd", "encoding", "encoding_error_handler"}
_HTTP_KEYS = {"url", "headers"}
_TRANSPORTS = {"stdio": "stdio", "http": "http", "streamable-http": "http", "streamable_http": "http",
               "streamableHttp": "http", "sse": "sse"}
# agentsilex options that may also sit in a config entry (so each server of a file can have its own).
OPTION_KEYS = {"name", "prefix", "allow", "deny", "needs_approval", "connect_timeout", "list_timeout",
               "call_timeout", "stderr", "sampling", "elicitation", "max_result_chars", "max_description_chars"}
# Keys other MCP clients write into the same files; harmless here.
_FOREIGN_KEYS = {"description", "autoApprove", "alwaysAllow", "disabled", "timeout"}
# Passed on to every stdio server: what `npx`, `uvx` and the servers themselves need behind a proxy or a private
# registry. Proxy URLs may carry credentials; a server's own `env` overrides any of them (`"HTTPS_PROXY": ""`).
DEFAULT_PASS_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
                    "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS",
                    "npm_config_*", "NPM_CONFIG_*")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


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
    label: str = ""  # the command line or URL as written (before ${VAR} substitution: no secrets in messages)

    def describe(self) -> str:
        return self.label


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
    written, headers = config["url"], config.get("headers") or {}
    url = expand(written, "url") if isinstance(written, str) else written
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise UserError(f"MCP server url must start with http:// or https://, got {written!r}.")
    if not _str_dict(headers):
        raise UserError(f"MCP server headers must map strings to strings, got {headers!r}.")
    headers = {key: expand(value, f"headers[{key!r}]") for key, value in headers.items()}
    return Transport(kind, url=url, headers=headers, label=written), options


def remember_secrets(transport: Transport) -> None:
    """Redact the credentials a config gives a server (URL, headers, environment) wherever they show up."""
    password = urlsplit(transport.url).password
    remember(password, unquote(password or ""))
    given = [value for key, value in transport.headers.items()
             if key.lower() in ("authorization", "proxy-authorization", "cookie")]
    remember(*given, *(value.split()[-1] for value in given if value.split()), **transport.headers)  # "Bearer x": x
    remember(**(transport.env or {}))


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
    label = " ".join([os.path.basename(command), *args])[:80]
    return Transport("stdio", command=find_command(expand(command, "command")), args=tuple(expand(a, "args") for a in args),
                     env=environment(env or {}, config.get("pass_env")), label=label, encoding=encoding,
                     cwd=expand(str(cwd), "cwd") if cwd is not None else None)


def find_command(command: str) -> str:
    """A bare command not on PATH but installed beside this Python (`pip install mcp-server-time` into a virtual
    environment that is not activated) runs from there; anything else is left to the SDK to find."""
    beside = Path(sys.executable).parent / command
    if os.sep in command or shutil.which(command) or not (shutil.which(str(beside))):
        return command
    return str(beside)


def environment(env: dict[str, str], pass_env: Any) -> dict[str, str]:
    """What a stdio server gets on top of the SDK's safe set (see the module docstring)."""
    if pass_env is None:
        pass_env = []
    if isinstance(pass_env, str) or not isinstance(pass_env, (list, tuple)) \
            or not all(isinstance(name, str) for name in pass_env):
        raise UserError(f"MCP server 'pass_env' must be a list of variable names (or patterns such as \"AWS_*\"), "
                        f"got {pass_env!r}.")
    patterns = [*DEFAULT_PASS_ENV, *pass_env]
    chosen = {name: value for name, value in os.environ.items() if any(fnmatchcase(name, p) for p in patterns)}
    return {**chosen, **{name: expand(value, f"env[{name!r}]") for name, value in env.items()}}


def expand(text: str, where: str) -> str:
    """`${VAR}` and `${VAR:-default}` replaced from the environment; an unset VAR with no default is an error."""
    def value(found: re.Match) -> str:
        name, default = found[1], found[2]
        if name in os.environ and (os.environ[name] or default is None):
            return os.environ[name]
        if default is not None:  # as in a shell: ${VAR:-default} also stands in for an empty VAR
            return default
        raise UserError(f"MCP server config: {where} uses ${{{name}}}, but {name} is not set. Export it, or write "
                        f"${{{name}:-default}} to fall back to a default.")

    return _VARIABLE.sub(value, text)


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


def stderr_setting(value: Any) -> str:
    """`stderr`: "inherit", "discard", or a file path (checked when the config is read)."""
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        raise UserError(f"stderr must be \"inherit\", \"discard\" or a file path, got {value!r}.")
    return str(value)


def open_stderr(setting: str, stack: AsyncExitStack) -> TextIO:
    """Where a stdio server's stderr goes, kept open for the connection's life (the stack closes it)."""
    if setting == "inherit":  # sys.stderr, unless it is no file (Jupyter, a test runner): then the process's own
        for stream in (sys.stderr, sys.__stderr__):
            try:
                stream.fileno()  # type: ignore[union-attr]
                return stream  # type: ignore[return-value]
            except (AttributeError, OSError, ValueError):
                continue
        setting = "discard"
    return stack.enter_context(open(os.devnull if setting == "discard" else setting, "a", encoding="utf-8"))
