# Two commands do all the set-up on a fresh machine:  make demo   and   make test
PYTHON ?= python3
VENV := .venv
export LITELLM_LOCAL_MODEL_COST_MAP ?= True

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

.PHONY: demo test install
install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(VENV)/bin/python examples/demo.py

test: $(VENV)/.installed
	$(VENV)/bin/python -m pytest -q
