"""Misconfiguration fails at construction with a UserError, before any prompt is stored (item 11)."""

from __future__ import annotations

import pytest

from agentsilex import Agent, Runner, Session, tool
from agentsilex.errors import UserError
from agentsilex.testing import ScriptedModel


@tool
def transfer_to_billing() -> str:
    """A tool that happens to share the handoff's name."""
    return "tool"


def _agent(**changes):
    return Agent(**{"name": "a", "model": ScriptedModel(["hi"]), **changes})


@pytest.mark.parametrize("changes,words", [
    ({"fallback_models": "gpt-4o-mini"}, "fallback_models must be a list"),
    ({"model": ""}, "model must be"),
    ({"model": "   "}, "model must be"),
    ({"tools": transfer_to_billing.function}, "tools must be a list"),
    ({"handoffs": "billing"}, "handoffs must be a list"),
    ({"input_guardrails": print}, "input_guardrails must be a list"),
    ({"tools": [transfer_to_billing], "handoffs": [Agent(name="billing", model="gpt-4o")]},
     "a tool and a handoff both named 'transfer_to_billing'"),
    ({"handoffs": ["billing"]}, "handoffs must be Agents"),
])
def test_agent_misconfiguration_is_a_user_error(changes, words):
    with pytest.raises(UserError, match=words):
        _agent(**changes)


@pytest.mark.parametrize("options,words", [
    ({"max_turns": "3"}, "max_turns must be a whole number"),
    ({"max_turns": 0}, "max_turns must be a whole number"),
    ({"max_turns": True}, "max_turns must be a whole number"),
    ({"max_handoffs": -1}, "max_handoffs must be"),
    ({"max_agent_depth": 2.5}, "max_agent_depth must be"),
    ({"limits": {}}, "limits must be a RunLimits"),
    ({"session": "x"}, "session must be a Session"),
])
def test_runner_misconfiguration_is_a_user_error(options, words):
    with pytest.raises(UserError, match=words):
        Runner(**options)


def test_nothing_is_stored_when_the_configuration_is_wrong():
    session = Session()
    with pytest.raises(UserError):
        Runner(session, max_turns="3").run(_agent(), "hello")
    assert session.get_dialogs() == []
