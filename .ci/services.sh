#!/usr/bin/env bash
# Install (from Debian packages) and start the servers the session-store tests use: Redis and PostgreSQL.
# Idempotent: run it as often as you like. Needs root (CI runs as root); locally: sudo bash .ci/services.sh
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
if ((${#missing[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Redis: a throwaway server on loopback, no persistence (the tests use database 15 and clean up after themselves).
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes
fi

# PostgreSQL: the packaged cluster, plus a role and database for the tests.
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | grep -q .; then
    pg_createcluster "$version" main >/dev/null
fi
cluster=$(pg_lsclusters -h | head -1 | awk '{print $1" "$2}')
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    pg_ctlcluster $cluster start
fi
for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
as_postgres() { su postgres -c "$1"; }
if ! as_postgres "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='agentsilex'\"" | grep -q 1; then
    as_postgres "psql -qc \"CREATE ROLE agentsilex LOGIN PASSWORD 'agentsilex'\""
fi
if ! as_postgres "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='agentsilex_test'\"" | grep -q 1; then
    as_postgres "createdb -O agentsilex agentsilex_test"
fi
echo "services: redis on 127.0.0.1:6379, postgresql on 127.0.0.1:5432 (db agentsilex_test)"

# tmux and Chromium for the terminal and browser tests of `agentsilex chat` and `agentsilex serve`.
bash "$(dirname "$0")/ui-tools.sh"

# Node.js (npx) and the npm package of the filesystem MCP server, for the third-party MCP server tests.
bash "$(dirname "$0")/mcp_servers.sh"

# Arize Phoenix, a real OTLP receiver for the tracing end-to-end test (in its own venv, in the user cache).
bash "$(dirname "$0")/phoenix.sh"

# The Vercel AI SDK and AG-UI JavaScript clients (npm), for the protocol tests.
bash "$(dirname "$0")/js-clients.sh"
