"""MCP client: the tools of any MCP server as agentsilex `Tool`s, on one persistent session per server.

`MCPServer(config)` is one server: connected on first use, kept until `close()` (or the end of a `with`
block, or interpreter exit), reconnected on the next call after the server crashed or hung. `mcp_tools(config)`
is the agentsilex 1.0 entry point: the same, shared per config and closed at exit. Every connection lives on
one background event loop (see `_background.py`), so sync, async and streaming runs all use the same session.
"""

from __future__ import annotations

import asyncio
import logging
import re
from contextlib import AsyncExitStack
from typing import Any, Callable, Iterable

from mcp import ClientSession, StdioServerParameters, types
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError as SDKError
from pydantic import ValidationError

from ..errors import UserError
from ..redaction import redact
from ..tool import Tool
from . import _background, limits
from .config import ByName, approval_policy, open_stderr, parse, remember_secrets, seconds, stderr_setting, tool_names
from .elicitation import Elicitation, current_asker
from .errors import (MCPConnectionError, MCPError, MCPProtocolError, MCPTimeoutError, MCPToolError, describe,
                     malformed)
from .results import to_value
from .sampling import sampling_option

logger = logging.getLogger("agentsilex.mcp")
_INVALID_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_-]")
_live: set[MCPServer] = set()  # servers with an open connection, closed at interpreter exit
_closing: set[asyncio.Task] = set()  # connections being torn down in the background


class MCPServer:
    """One MCP server and its persistent session: `with MCPServer(config) as server: Agent(tools=server.tools())`.

    `config` is `{"command": ..., "args": [...], "env": {...}, "pass_env": [...]}` (stdio) or `{"url": ...,
    "headers": {...}}` (streamable HTTP; legacy SSE when the path ends in /sse or `"transport": "sse"`), with
    `${VAR}` substituted (see config.py). Options: `name` (for messages), `prefix` (tool names become
    `prefix_name`), `allow`/`deny` (server tool names), `needs_approval` (True, a list of tool names, or
    fn(context, arguments) -> bool), timeouts in seconds, `stderr` for a stdio server's error output:
    "inherit" (this process's stderr, the default), "discard", or a file path to append to,
    `max_result_chars` / `max_description_chars` (what a tool result or description may hold: limits.py), and
    the server's requests to the client: `sampling` (a model and budget, see sampling.py) and `elicitation`
    ("ask", or a function; see elicitation.py), both off by default.
    """

    def __init__(self, config: dict[str, Any], *, name: str | None = None, prefix: str | None = None,
                 allow: Iterable[str] | None = None, deny: Iterable[str] | None = None,
                 needs_approval: bool | Iterable[str] | Callable[[Any, dict], bool] | None = None,
                 connect_timeout: float | None = None, list_timeout: float | None = None,
                 call_timeout: float | None = None, stderr: str | None = None, max_result_chars: int | None = None,
                 max_description_chars: int | None = None, sampling: Any = None, elicitation: Any = None) -> None:
        self.transport, in_config = parse(config)
        remember_secrets(self.transport)
        given = {"name": name, "prefix": prefix, "allow": allow, "deny": deny, "needs_approval": needs_approval,
                 "connect_timeout": connect_timeout, "list_timeout": list_timeout, "call_timeout": call_timeout,
                 "stderr": stderr, "max_result_chars": max_result_chars, "max_description_chars": max_description_chars,
                 "sampling": sampling, "elicitation": elicitation}
        options = {**in_config, **{key: value for key, value in given.items() if value is not None}}
        self.name: str = options.get("name") or redact(self.transport.describe())
        self.prefix: str | None = options.get("prefix")
        self.allow = tool_names(options.get("allow"), "allow")
        self.deny = tool_names(options.get("deny"), "deny") or set()
        self.needs_approval = approval_policy(options.get("needs_approval", False))
        self.connect_timeout = seconds(options, "connect_timeout", 30.0)
        self.list_timeout = seconds(options, "list_timeout", 30.0)
        self.call_timeout = seconds(options, "call_timeout", 60.0)
        self.stderr = stderr_setting(options.get("stderr", "inherit"))
        # None follows the global limit (limits.py) as it is when a result or a listing arrives.
        self.max_result_chars, self.max_description_chars = limits.given(options)
        self.sampling = sampling_option(options.get("sampling"))
        self.elicitation = Elicitation(options.get("elicitation"), self.name)
        self.closed = False
        self._session: ClientSession | None = None
        self._stop: asyncio.Event | None = None
        self._holder: asyncio.Task | None = None
        self._lock: asyncio.Lock | None = None
        self._attempts = self._settled = 0  # connection attempts started and finished; how the last one failed
        self._failure: MCPError | None = None
        self._tools: dict[str, Tool] = {}
        self._stale = True
        self._refreshing: asyncio.Task | None = None

    def __repr__(self) -> str:
        state = "closed" if self.closed else "connected" if self._session is not None else "idle"
        return f"MCPServer({self.name!r}, {self.transport.kind}, {state})"

    # ---- the public API, sync and async ------------------------------------------------------------------
    def tools(self) -> list[Tool]:
        """The server's tools (listed once, then cached until the server says its list changed)."""
        return _background.run_sync(self._list_tools())

    async def tools_async(self) -> list[Tool]:
        return await _background.run_async(self._list_tools())

    def call(self, tool_name: str, arguments: dict[str, Any] | None = None) -> Any:
        """Call a tool by its name on the server; return what the model would read (text or a dict)."""
        return _background.run_sync(self._call(tool_name, arguments or {}, current_asker()))

    async def call_async(self, tool_name: str, arguments: dict[str, Any] | None = None) -> Any:
        return await _background.run_async(self._call(tool_name, arguments or {}, current_asker()))

    def close(self) -> None:
        """Close the session and stop the server process; the tools then fail with a clear error."""
        if _background.on_background_thread():
            raise RuntimeError("use `await server.aclose()` on the MCP thread")
        _background.run_sync(self._close())

    async def aclose(self) -> None:
        await _background.run_async(self._close())

    def __enter__(self) -> MCPServer:
        _background.run_sync(self._connect())
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    async def __aenter__(self) -> MCPServer:
        await _background.run_async(self._connect())
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    # ---- the connection (everything below runs on the background loop) ---------------------------------
    async def _connect(self) -> ClientSession:
        if self.closed:
            raise MCPConnectionError(f"MCP server {self.name!r} was closed; make a new MCPServer to use it again.",
                                     server=self.name)
        session = self._session
        if session is not None and not _connection_closed(session):
            return session
        if session is not None:
            self._drop(session)
        if self._lock is None:
            self._lock = asyncio.Lock()
        settled = self._settled
        async with self._lock:
            if self._settled != settled and self._failure is not None:
                # The attempt this call waited for failed: say so, rather than a storm of restarts.
                raise type(self._failure)(str(self._failure), server=self.name)
            if self._session is None:
                self._attempts += 1
                try:
                    await self._open()
                    self._failure = None
                except MCPError as exc:
                    self._failure = exc
                    raise
                finally:
                    self._settled += 1
        assert self._session is not None
        return self._session

    async def _open(self) -> None:
        ready: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
        stop = asyncio.Event()
        holder = asyncio.create_task(self._hold(ready, stop), name=f"mcp:{self.name}")
        try:
            async with asyncio.timeout(self.connect_timeout):
                session = await asyncio.shield(ready)
        except TimeoutError:
            if not ready.cancel():  # settled just now: read its outcome, or asyncio reports it at exit
                ready.exception()
            stop.set()  # a cancelled `ready` also tells _hold that nobody waits for its outcome any more
            holder.cancel()
            _track_closing(holder)
            raise MCPTimeoutError(f"MCP server {self.name!r} did not start within connect_timeout="
                                  f"{self.connect_timeout:g} s. Check that it runs on its own, or raise "
                                  "connect_timeout.", server=self.name) from None
        self._session, self._stop, self._holder, self._stale = session, stop, holder, True
        _live.add(self)

    async def _hold(self, ready: asyncio.Future, stop: asyncio.Event) -> None:
        """Own the connection: enter the transport and the session, wait for `stop`, leave them (one task)."""
        session: ClientSession | None = None
        try:
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport_context(stack))
                session = await stack.enter_async_context(ClientSession(read, write, message_handler=self._on_message,
                                                                        **self._callbacks()))
                await session.initialize()
                ready.set_result(session)
                await stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(MCPConnectionError(f"Could not connect to MCP server {self.name!r}: "
                                                       f"{describe(exc)}.", server=self.name))
            elif not isinstance(exc, (asyncio.CancelledError, Exception)):
                raise
        finally:
            if session is not None and self._session is session:
                self._session = None
                _live.discard(self)

    def _callbacks(self) -> dict[str, Any]:
        """Sampling and elicitation, only when opted in (else the SDK refuses them and advertises neither)."""
        found: dict[str, Any] = {"sampling_callback": self.sampling} if self.sampling else {}
        return {**found, "elicitation_callback": self.elicitation} if self.elicitation.enabled else found

    def _transport_context(self, stack: AsyncExitStack) -> Any:
        spec = self.transport
        if spec.kind == "stdio":
            return stdio_client(StdioServerParameters(command=spec.command, args=list(spec.args), env=spec.env,
                                                      cwd=spec.cwd, **spec.encoding),
                                errlog=open_stderr(self.stderr, stack))
        if spec.kind == "sse":
            return sse_client(spec.url, headers=spec.headers or None, timeout=self.connect_timeout)
        import httpx2  # the MCP SDK's HTTP client (a dependency of mcp>=2)

        client = httpx2.AsyncClient(headers=spec.headers, timeout=httpx2.Timeout(self.connect_timeout, read=300.0))
        return _http_with_client(spec.url, client)

    def _drop(self, session: ClientSession) -> None:
        """Forget a broken connection and stop it in the background; the next call reconnects."""
        if self._session is session:
            self._session = None
            _live.discard(self)
            assert self._stop is not None and self._holder is not None
            self._stop.set()
            _track_closing(self._holder)

    async def _close(self) -> None:
        self.closed = True
        if self._session is not None:
            self._drop(self._session)
        if _closing:  # each is bounded by the SDK's shutdown (stdin closed, then SIGTERM, then SIGKILL)
            await asyncio.wait(set(_closing), timeout=_background.EXIT_GRACE)

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self._stale = True
            if self._tools and (self._refreshing is None or self._refreshing.done()):
                self._refreshing = asyncio.create_task(self._refresh_quietly())
        elif isinstance(message, Exception):
            logger.debug("MCP server %r transport error: %s", self.name, redact(str(message)))

    async def _refresh_quietly(self) -> None:
        try:
            await self._list_tools()
        except Exception as exc:  # the next tools() call lists again and reports it
            logger.warning("MCP server %r: refreshing its tools after tools/list_changed failed: %s",
                           self.name, redact(str(exc)))

    # ---- tools -----------------------------------------------------------------------------------------
    async def _list_tools(self) -> list[Tool]:
        if not self._stale and self._session is not None:
            return list(self._tools.values())
        session = await self._connect()
        self._stale = False
        listed: list[types.Tool] = []
        params: types.PaginatedRequestParams | None = None
        try:
            async with asyncio.timeout(self.list_timeout):
                while True:
                    page = await session.list_tools(params=params)
                    listed.extend(page.tools)
                    if not page.next_cursor:
                        break
                    params = types.PaginatedRequestParams(cursor=page.next_cursor)
        except TimeoutError:
            self._stale = True
            raise MCPTimeoutError(f"MCP server {self.name!r} did not list its tools within list_timeout="
                                  f"{self.list_timeout:g} s.", server=self.name) from None
        except (SDKError, OSError) as exc:
            self._stale = True
            raise MCPConnectionError(f"MCP server {self.name!r} could not list its tools: {describe(exc)}.",
                                     server=self.name) from None
        except ValidationError as exc:
            self._stale = True
            raise malformed(self.name, "its tool list", exc) from None
        self._tools = self._build(listed)
        return list(self._tools.values())

    def _build(self, listed: list[types.Tool]) -> dict[str, Tool]:
        offered = [item.name for item in listed]
        if self.allow is not None and (missing := sorted(self.allow - set(offered))):
            raise UserError(f"MCP server {self.name!r} has no tool named {', '.join(map(repr, missing))} "
                            f"(allow=...); it offers: {', '.join(offered) or 'none'}.")
        built: dict[str, Tool] = {}
        for item in listed:
            if item.name in self.deny or (self.allow is not None and item.name not in self.allow):
                continue
            name = self._tool_name(item.name)
            if name in built:
                raise UserError(f"MCP server {self.name!r} offers two tools that both become {name!r} here; "
                                "deny one of them.")
            existing = self._tools.get(name)
            if existing is not None:  # updated in place, so agents holding this Tool see the new schema
                existing.description, existing.parameters = self._description(item), item.input_schema
                built[name] = existing
            else:
                built[name] = self._make_tool(name, item)
        return built

    def _description(self, item: types.Tool) -> str:
        maximum = limits.limit(self.max_description_chars, "max_description_chars")
        return limits.cut(item.description or "", maximum, f"the description of tool {item.name!r} from MCP "
                          f"server {self.name!r}", "max_description_chars")

    def _tool_name(self, server_name: str) -> str:
        name = f"{self.prefix}_{server_name}" if self.prefix else server_name
        return _INVALID_NAME_CHARS.sub("_", name)[:64]

    def _make_tool(self, name: str, item: types.Tool) -> Tool:
        server_name = item.name

        async def call_mcp_tool(**arguments: Any) -> Any:
            return await self.call_async(server_name, arguments)

        try:
            made = Tool.from_schema(name, self._description(item), item.input_schema, call_mcp_tool)
        except UserError as exc:  # a name or schema no provider would take: the server's fault, not the user's
            raise MCPProtocolError(f"MCP server {self.name!r} lists a tool agentsilex cannot offer to a model: "
                                   f"{exc} Leave it out with deny=[{item.name!r}].", server=self.name) from None
        policy = self.needs_approval
        made.needs_approval = policy(server_name, name) if isinstance(policy, ByName) else policy
        setattr(made, "source", f"MCP server {self.name!r}")
        setattr(made, "asks_people", self.elicitation.enabled and self.elicitation.answers is None)
        return made

    async def _call(self, tool_name: str, arguments: dict[str, Any], asker: Any = None) -> Any:
        session = await self._connect()
        try:
            async with asyncio.timeout(self.call_timeout) as scope:
                with self.elicitation.calling(asker, scope):  # a question from the server goes to `asker`
                    result = await session.call_tool(tool_name, arguments)
        except TimeoutError:
            responsive = await self._responds(session)
            if not responsive:
                self._drop(session)
            raise MCPTimeoutError(
                f"MCP server {self.name!r}: tool {tool_name!r} did not answer within call_timeout="
                f"{self.call_timeout:g} s and was cancelled. " + ("The server still answers; try smaller inputs."
                if responsive else "The server stopped responding; the next call restarts it."),
                server=self.name) from None
        except SDKError as exc:
            if exc.code == types.CONNECTION_CLOSED:
                self._drop(session)
                raise MCPConnectionError(f"MCP server {self.name!r} closed the connection during the call to "
                                         f"{tool_name!r} (did it crash?); the call's outcome is unknown. The "
                                         "next call restarts the server.", server=self.name) from None
            raise MCPToolError(f"MCP server {self.name!r} refused the call to {tool_name!r}: {exc.message}",
                               server=self.name) from None
        except ValidationError as exc:
            raise malformed(self.name, f"the result of {tool_name!r}", exc) from None
        return to_value(result, server=self.name, tool=tool_name,
                        max_chars=limits.limit(self.max_result_chars, "max_result_chars"))

    async def _responds(self, session: ClientSession) -> bool:
        try:
            async with asyncio.timeout(min(5.0, self.call_timeout)):
                await session.send_ping()
            return True
        except Exception:
            return False


def _connection_closed(session: ClientSession) -> bool:
    """Whether the SDK saw the connection end (an idle server that died): then reconnect before sending.
    Reads a private flag of the SDK's dispatcher; without it a dead connection is found by the next call."""
    return bool(getattr(getattr(session, "_dispatcher", None), "_closed", False))


class _http_with_client:
    """streamable_http_client that also closes the HTTP client it was given."""

    def __init__(self, url: str, client: Any) -> None:
        self.url, self.client = url, client
        self.stack = AsyncExitStack()

    async def __aenter__(self) -> Any:
        await self.stack.enter_async_context(self.client)
        return await self.stack.enter_async_context(streamable_http_client(self.url, http_client=self.client))

    async def __aexit__(self, *exc_info: Any) -> Any:
        return await self.stack.__aexit__(*exc_info)


def _track_closing(holder: asyncio.Task) -> None:
    _closing.add(holder)
    holder.add_done_callback(_closing.discard)


async def _close_live_at_exit() -> None:
    await asyncio.gather(*(server._close() for server in list(_live)), return_exceptions=True)
    if _closing:  # connections dropped (crashed, hung) and still being stopped
        await asyncio.wait(set(_closing), timeout=_background.EXIT_GRACE)


_background.at_exit(_close_live_at_exit)
