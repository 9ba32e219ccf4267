"""`python -m agentsilex.cli`: the same as the `agentsilex` command."""

from . import main

main()
