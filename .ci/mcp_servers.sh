#!/usr/bin/env bash
# Third-party MCP servers for tests/test_mcp_configs.py and the tutorial: mcp-server-time and mcp-server-git come
# with the test extra (PyPI); the filesystem server comes from npm through npx, so Node.js must be there. Its
# package is fetched once into npx's cache here, so the test itself does not wait for the registry.
# Idempotent; installing Node.js needs root.
set -euo pipefail

if ! command -v npx >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
# The version the test pins; `npm cache add` downloads it without running it.
npm cache add @modelcontextprotocol/server-filesystem@2026.8.31 >/dev/null 2>&1 \
    || echo "note: could not fetch @modelcontextprotocol/server-filesystem from npm; its test will try again"
echo "mcp servers: npx $(npx --version), filesystem server cached"
