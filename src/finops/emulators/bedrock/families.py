"""What each model family does with Converse's family-specific fields: reasoning and prompt caching.

Reasoning is asked for in ``additionalModelRequestFields``, in each family's own spelling:

- Claude: ``thinking: {type: enabled, budget_tokens}`` (or the older ``reasoning_config``), or
  ``thinking: {type: adaptive}``; the effort is ``outputConfig.effort`` (default ``high``). Signed text.
- Nova 2: ``reasoningConfig: {type: enabled, maxReasoningEffort: low|medium|high}``. The text is
  ``[REDACTED]``, as Nova 2 Lite answers (the tokens are still billed).
- gpt-oss: ``reasoning_effort: low|medium|high``. Unsigned text.
- DeepSeek R1: always reasons (``medium``). Unsigned text.

Prompt caching (``cachePoint``) works for Claude and Nova; other families ignore cache points.
"""

from __future__ import annotations

from typing import Any

from finops.emulators.bedrock.errors import validation
from finops.emulators.bedrock.generate import ReasoningRequest
from finops.emulators.bedrock.models import Model

_EFFORTS = ("low", "medium", "high")
_MIN_CLAUDE_BUDGET = 1024
CACHING_FAMILIES = ("anthropic", "amazon")


def converse_reasoning(model: Model, body: dict[str, Any], max_tokens: int) -> ReasoningRequest | None:
    """The reasoning a Converse request asks of ``model``; raises Bedrock's 400 for malformed settings."""
    fields = body.get("additionalModelRequestFields") or {}
    if not isinstance(fields, dict):
        raise validation("additionalModelRequestFields must be a JSON object.")
    effort = (body.get("outputConfig") or {}).get("effort")
    if model.family == "anthropic":
        return _claude(fields, effort, max_tokens)
    if model.family == "amazon":
        config = fields.get("reasoningConfig")
        if not isinstance(config, dict) or config.get("type") != "enabled":
            return None
        level = config.get("maxReasoningEffort", "medium")
        if level not in _EFFORTS:
            raise validation("reasoningConfig.maxReasoningEffort must be one of low, medium, high.")
        return ReasoningRequest(effort=level, redacted=True, signed=False)
    if model.family == "openai":
        level = fields.get("reasoning_effort", "medium")
        if level not in _EFFORTS:
            raise validation("reasoning_effort must be one of low, medium, high.")
        return ReasoningRequest(effort=level, signed=False)
    if model.family == "deepseek" and "r1" in model.base_id:
        return ReasoningRequest(effort="medium", signed=False)
    return None


def _claude(fields: dict[str, Any], effort: str | None, max_tokens: int) -> ReasoningRequest | None:
    config = fields.get("thinking", fields.get("reasoning_config"))
    if not isinstance(config, dict):
        if effort in ("xhigh", "max"):
            raise validation(
                "The effort level is capped at high when extended thinking is disabled. "
                "Use effort high or below, or enable thinking."
            )
        return None
    kind = config.get("type")
    if kind not in ("enabled", "adaptive", "disabled"):
        raise validation("thinking.type must be one of enabled, adaptive, disabled.")
    if kind == "disabled":
        return None
    budget = config.get("budget_tokens")
    if kind == "enabled":
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < _MIN_CLAUDE_BUDGET:
            raise validation(f"thinking.budget_tokens must be an integer >= {_MIN_CLAUDE_BUDGET}.")
        if budget >= max_tokens:
            raise validation("The maximum tokens you requested must be greater than thinking.budget_tokens.")
    return ReasoningRequest(effort=effort or "high", budget=budget if kind == "enabled" else None)
