"""`python -m agentsilex.mcp serve module:agent [more:targets] [--http --host H --port P --path /mcp]`.

Each target is `module:attribute` (or `path/to/file.py:attribute`); the attribute may be an Agent, a tool, a
function or a list of them. The module is imported from the current directory.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from ..errors import UserError
from .server import serve_mcp


def load_target(spec: str) -> list[Any]:
    """Resolve `module:attribute` (or `file.py:attribute`) to the objects to serve."""
    module_name, sep, attribute = spec.rpartition(":")
    if not sep or not module_name or not attribute:
        raise UserError(f"Serve targets look like module:attribute (e.g. my_agents:agent), got {spec!r}.")
    if module_name.endswith(".py"):
        path = Path(module_name)
        loader = importlib.util.spec_from_file_location(path.stem, path)
        if loader is None or loader.loader is None or not path.exists():
            raise UserError(f"Cannot load {module_name!r}: no such Python file.")
        module = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(module)
    else:
        if "" not in sys.path:
            sys.path.insert(0, "")
        module = importlib.import_module(module_name)
    try:
        found = getattr(module, attribute)
    except AttributeError:
        raise UserError(f"{module_name!r} has no attribute {attribute!r}.") from None
    return list(found) if isinstance(found, (list, tuple)) else [found]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m agentsilex.mcp", description="Serve agents and tools over MCP.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve module:attribute targets (stdio unless --http)")
    serve.add_argument("targets", nargs="+", help="module:attribute, e.g. my_agents:agent")
    serve.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--path", default="/mcp")
    serve.add_argument("--name", default="agentsilex", help="the server name clients see")
    args = parser.parse_args(argv)
    try:
        targets = [item for spec in args.targets for item in load_target(spec)]
        serve_mcp(*targets, name=args.name, transport="http" if args.http else "stdio", host=args.host,
                  port=args.port, path=args.path)
    except UserError as exc:
        parser.exit(2, f"error: {exc}\n")
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
