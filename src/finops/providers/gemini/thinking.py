"""Anthropic ``thinking`` and ``output_config.effort`` -> Gemini ``generationConfig.thinkingConfig``, per model family.

Gemini's only effort knob is how much it thinks, so both Anthropic fields land there:

* Gemini 2.5 (``thinkingBudget``): ``enabled`` sends its ``budget_tokens``, clamped into the model's range (an
  Anthropic budget is a ceiling, and the model cannot think past its own); ``adaptive`` is the dynamic budget
  (``-1``). ``effort`` caps the budget: low 1,024, medium 8,192, high leaves it (dynamic: the model's own
  default), xhigh and max ask for the model's largest budget.
* Gemini 3 (``thinkingLevel``, the spec's enum names): ``effort`` picks the level (LOW; MEDIUM where the model
  has it, else HIGH, never less than asked; HIGH for high, xhigh and max); without an effort, ``enabled`` picks
  it from ``budget_tokens`` (under 8,192 LOW; under 16,384 MEDIUM where the model has it; else HIGH) and
  ``adaptive`` leaves the model's dynamic default.
* no ``thinking`` and no ``effort`` (Anthropic: no extended thinking), ``disabled`` and ``between_tools``
  (thinking off; Gemini writes no progress notes between tool calls, so this is ``disabled``, as the SDK's own
  fallback sends it) turn thinking off where the model can, else ask for its least (2.5 Pro's smallest budget,
  Gemini 3 Pro's ``LOW``, Gemini 3 Flash's ``MINIMAL``): thoughts nobody asked for are not billed, nor do they
  eat into ``max_tokens`` (Gemini's ``maxOutputTokens`` bounds thoughts and answer together).
* Thought summaries come back (``includeThoughts``) for ``enabled`` and ``adaptive`` unless ``display`` is
  ``omitted``: then Gemini still thinks (billed as output) but sends no thought text, so no thinking blocks
  come back. Their one use, continuity, does not need them: Gemini's signatures ride in ``tool_use`` ids.

Models before Gemini 2.5 cannot think: asking them to (``enabled``, ``adaptive``, an ``effort``) is a 400, as
Anthropic refuses a thinking mode a model lacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from finops.core.errors import InvalidRequestError
from finops.core.types import JSON
from finops.providers.gemini.models import ModelFamily

DYNAMIC_BUDGET = -1
_EFFORT_BUDGETS: dict[str, int | None] = {"low": 1024, "medium": 8192, "high": None}
"""Gemini 2.5 budget ceilings per effort (``None``: no ceiling; xhigh and max take the model's largest)."""
_LOW_LEVEL_BELOW = 8192
_MEDIUM_LEVEL_BELOW = 16384


@dataclass(frozen=True)
class _Asked:
    """What the request's ``thinking`` asks for."""

    kind: str | None
    """``enabled``, ``adaptive``, ``disabled``, ``between_tools``; ``None`` without ``thinking``."""
    budget: int | None = None
    shown: bool = True

    @classmethod
    def of(cls, thinking: Mapping[str, object] | None) -> _Asked:
        if thinking is None:
            return cls(None)
        budget = thinking.get("budget_tokens")
        return cls(
            str(thinking.get("type")),
            budget if isinstance(budget, int) and thinking.get("type") == "enabled" else None,
            thinking.get("display") != "omitted",
        )

    @property
    def thinks(self) -> bool:
        return self.kind in ("enabled", "adaptive")


def thinking_config(
    thinking: Mapping[str, object] | None, effort: str | None, model: str, family: ModelFamily
) -> JSON | None:
    """The ``thinkingConfig`` for a request's ``thinking`` (a parsed ``ThinkingConfigParam``, or absent) and
    ``output_config.effort``; ``None`` leaves the model's default."""
    asked = _Asked.of(thinking)
    if family.thinking == "none":
        if asked.thinks:
            raise InvalidRequestError(
                f"thinking: {model} does not think (Gemini models think from 2.5 on); remove thinking or use a "
                "Gemini 2.5 or later model"
            )
        if effort is not None:
            raise InvalidRequestError(
                f"output_config.effort: {model} does not think, and thinking is Gemini's only effort setting; "
                "remove output_config.effort or use a Gemini 2.5 or later model"
            )
        return None
    if asked.kind in ("disabled", "between_tools") or (asked.kind is None and effort is None):
        # No ``thinking`` asks Anthropic for no extended thinking, so none is billed; Gemini 2.5+ would otherwise
        # think by default, billing thoughts as output that also eat into maxOutputTokens (= max_tokens).
        return _least_thinking(family)
    config: JSON = {}
    if asked.thinks or effort is not None:
        if family.thinking == "level":
            level = _level(asked, effort, family)
            if level is not None:
                config["thinkingLevel"] = level
        else:
            budget = _budget(asked, effort, family)
            if budget is not None:
                config["thinkingBudget"] = budget
    if asked.thinks and asked.shown:
        config["includeThoughts"] = True
    return config or None


def _least_thinking(family: ModelFamily) -> JSON | None:
    if family.thinking == "level":
        return {"thinkingLevel": family.levels[0]}
    if family.thinking == "budget":
        return {"thinkingBudget": 0 if family.can_stop_thinking else family.min_budget}
    return None  # an unrecognised model: a budget of 0 may be refused, so its default stands (no thoughts shown)


def _budget(asked: _Asked, effort: str | None, family: ModelFamily) -> int | None:
    ceiling: int | None = None
    if effort is not None:
        ceiling = _EFFORT_BUDGETS.get(effort, family.max_budget or DYNAMIC_BUDGET)
    if asked.budget is None:
        if ceiling is not None:
            return ceiling
        return DYNAMIC_BUDGET if asked.thinks else None  # adaptive; an effort of high alone keeps the default
    budget = asked.budget if ceiling in (None, DYNAMIC_BUDGET) else min(asked.budget, ceiling)
    if family.max_budget is not None:
        budget = min(budget, family.max_budget)
    return max(budget, family.min_budget)


def _level(asked: _Asked, effort: str | None, family: ModelFamily) -> str | None:
    if effort is not None:
        wanted = effort.upper() if effort in ("low", "medium") else "HIGH"
    elif asked.budget is not None:
        budget = asked.budget
        wanted = "LOW" if budget < _LOW_LEVEL_BELOW else "MEDIUM" if budget < _MEDIUM_LEVEL_BELOW else "HIGH"
    else:
        return None  # adaptive: the model's dynamic default
    return wanted if wanted in family.levels else "HIGH"
