"""The Runner's options, checked before anything runs and sorted into what the engine, the drivers and the features
read (loaded only when a Runner is given more than a session, a context and max_turns). A misconfiguration is a
UserError that names the option and what to write instead."""

from __future__ import annotations

from typing import Any, Sequence

from .engine.tool_calls import Timeouts
from .errors import UserError

_TIMEOUTS = {"model_timeout": "model", "stream_idle_timeout": "stream_idle", "connect_timeout": "connect",
             "tool_timeout": "tool", "run_timeout": "run"}


def sort_options(runner: Any, timeouts: Any, flat: dict[str, Any], capabilities: Any, callbacks: Any, memory: Any,
                 processors: Any) -> None:
    """Check the options given to `runner` and set its timeouts, settings, capabilities, processors and approval key;
    then what a feature checks itself (features/__init__.py: each loads that feature)."""
    runner.timeouts = timeouts_of(timeouts, flat)
    runner.settings = settings_of(runner.limits, flat, runner.settings)
    runner.capabilities = capabilities_of(capabilities)
    runner.processors = processors_of(callbacks, memory, processors)
    if runner.approval_key is not None:  # it signs paused runs; a key too short fails here, not at a pause
        from .features.approval import resolve_key

        runner.approval_key = resolve_key(runner.approval_key)
    from .features import check_options

    check_options(runner)


def count(name: str, value: Any, least: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise UserError(f"{name} must be a whole number of at least {least}, got {value!r}.")
    return value


def timeouts_of(timeouts: Timeouts | None, flat: dict[str, Any]) -> Timeouts:
    if timeouts is not None and not isinstance(timeouts, Timeouts):
        raise UserError(f"timeouts must be a Timeouts(...), got {timeouts!r}.")
    given = {name: flat.pop(name) for name in list(flat) if name in _TIMEOUTS}
    for name, value in given.items():  # a flat keyword is checked under its own name
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
            raise UserError(f"{name} must be a positive number of seconds or None, got {value!r}.")
    base = vars(timeouts) if timeouts is not None else {}
    return Timeouts(**{**base, **{_TIMEOUTS[name]: value for name, value in given.items()}})


def settings_of(limits: Any, flat: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The structural limits: from the RunLimits if given, a flat keyword overriding it, else the defaults."""
    settings = {name: flat.pop(name, getattr(limits, name, default)) for name, default in defaults.items()}
    if flat:
        unknown = ", ".join(sorted(flat))
        raise UserError(f"Runner() got unknown option(s): {unknown}. See help(Runner) for the options.")
    for name in ("max_handoffs", "max_agent_depth"):
        count(name, settings[name], 0)
    return settings


def capabilities_of(given: Sequence[Any]) -> list[Any]:
    if isinstance(given, (str, bytes)) or not isinstance(given, (list, tuple)):
        raise UserError(f"capabilities must be a list of capability objects, got {given!r:.80}.")
    for item in given:
        if not any(callable(getattr(item, name, None)) for name in ("prepare", "decide", "guard", "wrap")):
            raise UserError(f"{item!r:.80} is not a capability: give it at least one of prepare, decide, guard or "
                            "wrap (see agentsilex.Capability).")
    return list(given)


def processors_of(callbacks: Any, memory: Any, processors: Any) -> list[tuple[str, Any]]:
    """What edits what is sent, in order: the seed's callbacks, the memory strategies, the Runner's processors."""
    memory = [memory] if callable(memory) else memory
    found = []
    for kind, given in (("callback", callbacks), ("memory", memory), ("processor", processors)):
        if given is None:
            continue
        if isinstance(given, (str, bytes, dict)) or not isinstance(given, (list, tuple)) or \
                not all(callable(item) for item in given):
            what = {"callback": "before_llm_call_callbacks must be a list of functions fn(session)",
                    "memory": "memory must be a strategy or a list of strategies fn(messages, session)",
                    "processor": "history_processors must be functions fn(messages, context) -> messages, in a list"}
            raise UserError(f"{what[kind]}, got {given!r:.80}.")
        found.extend((kind, item) for item in given)
    return found
