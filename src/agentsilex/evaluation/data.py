"""The evaluation set format (agentsilex 1.0's JSON, unchanged) and the result types.

    {"cases": [{"eval_id": "...", "dialog_session": [
        {"user_utterance": "...", "agent_response": "...",
         "tools_used": [{"name": "get_weather", "arguments": "{\"city\": \"Paris\"}", "response": "SUNNY"}]}]}]}

Fields added here beyond 1.0 all have defaults, so 1.0 files load and 1.0 programs read results unchanged.
"""

from __future__ import annotations

import json
import os
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from ..errors import UserError


class ToolUsage(BaseModel):
    """One tool call: its name, its arguments (a JSON string, or a dict) and what it returned."""

    name: str
    arguments: Any = "{}"
    response: Any = None

    def arguments_dict(self) -> dict:
        """The arguments as a dict (a string that is not a JSON object becomes {"raw": text})."""
        if isinstance(self.arguments, dict):
            return self.arguments
        if not self.arguments:
            return {}
        try:
            value = json.loads(self.arguments)
        except (TypeError, ValueError):
            return {"raw": self.arguments}
        return value if isinstance(value, dict) else {"raw": value}


class DialogTurn(BaseModel):
    """One user message and what the agent did about it."""

    user_utterance: str
    agent_response: str = ""
    tools_used: list[ToolUsage] = Field(default_factory=list)


class EvalCase(BaseModel):
    """One conversation; its turns run in order on one fresh session."""

    eval_id: str
    dialog_session: list[DialogTurn]


class EvalSet(BaseModel):
    """A list of cases, stored as JSON."""

    cases: list[EvalCase]

    @classmethod
    def load(cls, path: str | os.PathLike) -> EvalSet:
        """Read an evaluation set; a missing or malformed file is a UserError saying what is wrong."""
        where = os.fspath(path)
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            raise UserError(f"No evaluation set at {where!r}.") from None
        except IsADirectoryError:
            raise UserError(f"{where!r} is a folder; give the evaluation set's JSON file.") from None
        except UnicodeDecodeError as exc:
            raise UserError(f"{where!r} is not UTF-8 text (byte {exc.start}); an evaluation set is a JSON file, "
                            "saved as UTF-8.") from None
        except OSError as exc:
            raise UserError(f"Cannot read the evaluation set {where!r}: {exc.strerror or exc}.") from None
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'the file'}: {e['msg']}" for e in exc.errors()[:5])
            raise UserError(f"{where!r} is not a valid evaluation set ({exc.error_count()} problems: {problems})."
                            ) from None

    def dump(self, path: str | os.PathLike) -> None:
        """Write the set as indented JSON."""
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(self.model_dump_json(indent=2))


class MetricTurnResult(BaseModel):
    score: float
    passed: bool
    detail: str | None = None  # why: a trajectory difference, the judge's reasoning


class MetricResult(BaseModel):
    score: float
    passed: bool
    turn_results: list[MetricTurnResult] = Field(default_factory=list)
    error: str | None = None  # the evaluator itself failed (e.g. the judge model was unreachable)


class EvalCaseResult(BaseModel):
    eval_id: str
    passed: bool
    metric_results: dict[str, MetricResult]
    expected_turns: list[DialogTurn] = Field(default_factory=list)
    actual_turns: list[DialogTurn] = Field(default_factory=list)
    error: str | None = None  # the run raised: the turns after it are empty
    duration_seconds: float = 0.0
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None


class MetricSummary(BaseModel):
    """One metric over every case of the set."""

    avg_score: float
    min_score: float
    max_score: float
    passed_count: int
    total_count: int
    pass_rate: float


class EvalSetResult(BaseModel):
    passed: bool
    total_cases: int
    passed_cases: int
    case_results: list[EvalCaseResult]
    metric_summaries: dict[str, MetricSummary] = Field(default_factory=dict)
    duration_seconds: float = 0.0
    batch: dict[str, Any] | None = None  # run as a provider batch: name, provider, rounds, batches, full_price_usd

    @property
    def input_tokens(self) -> int:
        return sum(c.input_tokens for c in self.case_results)

    @property
    def output_tokens(self) -> int:
        return sum(c.output_tokens for c in self.case_results)

    @property
    def cost_usd(self) -> float | None:
        costs = [c.cost_usd for c in self.case_results if c.cost_usd is not None]
        return sum(costs) if costs else None
