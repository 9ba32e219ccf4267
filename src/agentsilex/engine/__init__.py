"""The engine: the agent loop, the request builder, the capability protocol and the drivers."""
