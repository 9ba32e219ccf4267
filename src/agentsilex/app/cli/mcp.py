"""`agentsilex mcp tools CONFIG`: what an MCP config offers; `agentsilex mcp serve AGENT`: an agent as an MCP
server (both need the `mcp` extra)."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from ...errors import UserError
from . import app
from ._terminal import fail, one_line_errors

mcp_app = typer.Typer(help="MCP: list what a server config offers, or serve an agent over MCP.", no_args_is_help=True)
app.add_typer(mcp_app, name="mcp")


def _sdk() -> Any:
    try:
        import agentsilex.mcp as sdk
    except ImportError:
        fail("agentsilex mcp needs the MCP SDK: pip install -e '.[mcp]' in a checkout (README: Install)")
    return sdk


@mcp_app.command("tools")
def tools(
    config: str = typer.Argument(..., help="A config file (Claude-Desktop 'mcpServers', or one server's config) "
                                 "or the config itself as JSON: '{\"command\": \"mcp-server-time\"}'."),
    as_json: bool = typer.Option(False, "--json", help="Print every tool's full input schema as JSON."),
) -> None:
    """Start the config's servers, list their tools (name, description, parameters), stop them."""
    sdk = _sdk()
    with one_line_errors():
        source: Any = config
        if config.lstrip().startswith("{"):
            try:
                source = json.loads(config)
            except json.JSONDecodeError as exc:
                raise UserError(f"The config is not valid JSON: {exc}.") from None
        servers = sdk.registry.inventory(source)
    if as_json:
        print(json.dumps(servers, indent=2))
    else:
        _print(servers, Console(highlight=False, soft_wrap=True))
    if any("error" in server for server in servers):
        raise typer.Exit(1)


def _print(servers: list[dict], console: Console) -> None:
    for server in servers:
        if "error" in server:
            console.print(f"[bold]{escape(server['name'])}[/]: [red]did not start[/]: {escape(server['error'])}")
            continue
        count = len(server["tools"])
        console.print(f"[bold]{escape(server['name'])}[/]: {count} tool{'s' * (count != 1)}")
        for item in server["tools"]:
            approval = "  [yellow](needs approval)[/]" if item["needs_approval"] else ""
            console.print(f"  [cyan]{escape(item['name'])}[/]({escape(_parameters(item['input_schema']))}){approval}")
            for line in (item["description"] or "(no description)").strip().splitlines():
                console.print(f"      [dim]{escape(line)}[/]")


def _parameters(schema: dict) -> str:
    """`name: type` for each parameter; optional ones end in `?`."""
    required = set(schema.get("required") or [])
    shown = []
    for name, spec in (schema.get("properties") or {}).items():
        kind = spec.get("type") or ("|".join(s.get("type", "?") for s in spec.get("anyOf", [])) or "any")
        shown.append(f"{name}{'' if name in required else '?'}: {kind if isinstance(kind, str) else '|'.join(kind)}")
    return ", ".join(shown)


@mcp_app.command("serve")
def serve(
    targets: list[str] = typer.Argument(..., help="What to serve: module:agent or path/to/file.py:agent (an Agent, "
                                        "a tool, a function, or a list of them)."),
    http: bool = typer.Option(False, "--http", help="Streamable HTTP instead of stdio."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port", "-p"),
    path: str = typer.Option("/mcp", "--path"),
    name: str = typer.Option("agentsilex", "--name", help="The server name clients see."),
) -> None:
    """Serve agents and tools over MCP (as `python -m agentsilex.mcp serve`): stdio unless --http."""
    sdk = _sdk()
    from agentsilex.mcp.__main__ import load_target

    with one_line_errors():  # stdout is the protocol's (stdio): errors go to stderr
        found = [item for spec in targets for item in load_target(spec)]
        try:
            sdk.serve_mcp(*found, name=name, transport="http" if http else "stdio", host=host, port=port, path=path)
        except KeyboardInterrupt:
            pass
