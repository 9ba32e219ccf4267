"""The `agentsilex` command line (needs the `cli` extra: pip install -e '.[cli]').

How commands are added: every public module in this package (`run.py`, `chat.py`, `serve.py`, `eval.py`, ...)
is one command. It imports `app` from here and registers itself with `@app.command()`. This file imports all
of them at the bottom, found by listing the package, so adding a command is adding a file: nothing to edit here.
Modules whose name starts with `_` are helpers, not commands.
"""

from __future__ import annotations

import importlib
import pkgutil

try:
    import typer
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("the agentsilex command line needs its extra: pip install -e '.[cli]'") from exc

app = typer.Typer(
    name="agentsilex",
    help="Run, chat with, serve and evaluate agentsilex agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Run, chat with, serve and evaluate agentsilex agents."""  # a callback keeps `agentsilex <command>` even with one command


def main() -> None:
    """Entry point of the `agentsilex` console script."""
    app()


for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
