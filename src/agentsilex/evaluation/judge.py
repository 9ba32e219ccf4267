"""An LLM as judge: a rubric, a structured verdict (`response_format`), and a majority over samples."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from ..errors import UserError
from ..models import ModelRequest, ModelSettings, resolve_model
from .data import DialogTurn
from .metrics import BaseMetricEvaluator


class JudgeVerdict(BaseModel):
    """What the judge model must answer (sent as its `response_format`)."""

    reasoning: str = Field(description="Short reasoning that leads to the verdict")
    verdict: Literal["yes", "no"] = Field(description="'yes' if the answer is acceptable, else 'no'")


# The verdict's JSON schema as a plain `response_format`: the LiteLLM and the native HTTP path both send it as is.
VERDICT_FORMAT = {"type": "json_schema",
                  "json_schema": {"name": "JudgeVerdict", "schema": JudgeVerdict.model_json_schema(), "strict": False}}

DEFAULT_RUBRIC = ("The actual answer gives the user the same information as the expected answer and serves "
                  "what the user asked for. Wording may differ; facts may not.")

DEFAULT_PROMPT_TEMPLATE = """You grade the answers of an AI agent.

The user wrote:
{user_query}

A reference answer:
{expected_response}

The agent answered:
{actual_response}

Criteria: {rubric}

Reply with your reasoning and a verdict: "yes" if the agent's answer meets the criteria, "no" if not."""


class LLMJudgeEvaluator(BaseMetricEvaluator):
    """Asks a judge model `num_samples` times per turn; the turn scores 1.0 when most valid verdicts say yes.

    `model` is a model string or a Model object. A custom `prompt_template` may use {user_query},
    {expected_response}, {actual_response} and {rubric}. Verdicts that do not parse are left out of the vote
    (and reported); a model error fails the metric for that case with the error."""

    name = "llm_judge"
    description = "A judge model decides whether each answer meets the rubric; majority of samples, in [0, 1]."

    def __init__(self, threshold: float = 0.5, model: Any = "gpt-4o-mini", prompt_template: str | None = None,
                 num_samples: int = 3, temperature: float = 0.0, *, rubric: str | None = None) -> None:
        super().__init__(threshold)
        if not isinstance(num_samples, int) or num_samples < 1:
            raise UserError(f"num_samples must be a positive integer, got {num_samples!r}.")
        self.model = model
        self.prompt_template = prompt_template or DEFAULT_PROMPT_TEMPLATE
        self.num_samples = num_samples
        self.temperature = temperature
        self.rubric = rubric or DEFAULT_RUBRIC

    def score_turn(self, actual: DialogTurn, expected: DialogTurn) -> tuple[float, str]:
        return self.vote(self.prompt_for(actual, expected, self.rubric))

    def prompt_for(self, actual: DialogTurn, expected: DialogTurn, rubric: str) -> str:
        return self.prompt_template.format(user_query=actual.user_utterance, expected_response=expected.agent_response,
                                           actual_response=actual.agent_response, rubric=rubric)

    def vote(self, prompt: str) -> tuple[float, str]:
        """Majority of `num_samples` verdicts: (1.0 or 0.0, a summary of the votes)."""
        verdicts = [self.ask(prompt) for _ in range(self.num_samples)]
        valid = [v for v in verdicts if v is not None]
        yes = sum(v.verdict == "yes" for v in valid)
        if not valid:
            return 0.0, f"no valid verdict in {self.num_samples} samples"
        reason = next((v.reasoning for v in valid if (v.verdict == "yes") == (yes * 2 > len(valid))), "")
        invalid = f", {len(verdicts) - len(valid)} unparseable" if len(valid) < len(verdicts) else ""
        return float(yes * 2 > len(valid)), f"{yes}/{len(valid)} yes{invalid}: {reason}"

    def ask(self, prompt: str) -> JudgeVerdict | None:
        """One sample of the judge; None when its reply is not a valid verdict."""
        request = ModelRequest([{"role": "user", "content": prompt}],
                               settings=ModelSettings(temperature=self.temperature), response_format=VERDICT_FORMAT)
        content = resolve_model(self.model).complete(request).message.get("content") or ""
        try:
            return JudgeVerdict.model_validate_json(content)
        except ValidationError:
            return None


class RubricBasedEvaluator(LLMJudgeEvaluator):
    """One judge vote per rubric; the turn's score is the fraction of rubrics met."""

    name = "rubric_based"
    description = "The fraction of rubrics the answer meets, each decided by a judge model."

    def __init__(self, rubrics: list[str], threshold: float = 0.8, model: Any = "gpt-4o-mini",
                 num_samples: int = 3, temperature: float = 0.0) -> None:
        super().__init__(threshold=threshold, model=model, num_samples=num_samples, temperature=temperature)
        self.rubrics = list(rubrics)

    def score_turn(self, actual: DialogTurn, expected: DialogTurn) -> tuple[float, str]:
        if not self.rubrics:
            return 1.0, "no rubrics"
        votes = [self.vote(self.prompt_for(actual, expected, rubric)) for rubric in self.rubrics]
        met = [rubric for rubric, (score, _) in zip(self.rubrics, votes) if score]
        return len(met) / len(self.rubrics), f"met {len(met)}/{len(self.rubrics)}: {met}"
