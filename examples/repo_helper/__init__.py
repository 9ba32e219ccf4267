"""The repo helper of docs/tutorial.md: an agent that knows a git repository."""
