"""What each Bedrock model family can do through Converse, where Converse leaves it to the model.

Converse is one API over many models, but reasoning, prompt caching and structured output differ by family. The
gateway decides from the model ID (``models.family_of``) and writes each decision down here, with its source:

- **Prompt caching** (``cachePoint``): Claude and Nova (AWS, "Prompt caching for faster model inference": Claude
  3.5 Haiku and later, Nova Micro, Lite, Pro, Premier and Nova 2), not Titan. Nova takes cache points in ``system`` and
  ``messages`` only, Claude also after tools. A checkpoint below the model's minimum prefix (1,024 tokens for most
  models) is accepted and simply not cached, so the gateway never has to count.
- **Structured output**: ``outputConfig.textFormat`` where AWS lists native JSON-schema output (Claude 4.5+, and the
  open-weight families it names: Mistral, Qwen, DeepSeek, Gemma...; "Get validated JSON results from models");
  Nova has no ``textFormat`` but forced tool choice with constrained decoding (AWS, "Structured outputs with Amazon
  Nova"), so the schema becomes a forced tool; Llama and Cohere have neither (their Converse tool choice is
  ``auto`` only) and Titan has no tools, so the gateway refuses rather than hope for JSON.
- **Reasoning**, in ``additionalModelRequestFields``: Claude ``thinking`` (Anthropic's own object) with
  ``outputConfig.effort``; Nova 2 ``reasoningConfig`` (``maxReasoningEffort`` low/medium/high); gpt-oss
  ``reasoning_effort``; DeepSeek R1 always reasons. Every other model cannot reason.
"""

from __future__ import annotations

from typing import Literal

from finops.core.errors import InvalidRequestError
from finops.core.params import OutputConfigParam, ThinkingConfigParam
from finops.core.types import JSON
from finops.providers.bedrock.models import base_model_id, family_of

StructuredOutput = Literal["text_format", "answer_tool"]

_TOOL_CACHE_FAMILIES = frozenset({"anthropic"})
_NO_STRUCTURED_OUTPUT = frozenset({"meta", "cohere", "amazon"})  # Amazon: Titan text (Nova is checked first)

# Anthropic's effort levels above Converse families' "high" (Nova 2, gpt-oss) mean "as much as it has".
_EFFORT_LEVEL = {"low": "low", "medium": "medium", "high": "high", "xhigh": "high", "max": "high"}
# Anthropic's default effort for adaptive thinking is high.
_DEFAULT_EFFORT = "high"
# A thinking budget read as an effort level (a budget below 4k tokens is a light think; 16k and more, a deep one).
_BUDGET_LEVELS = ((4_000, "low"), (16_000, "medium"))


def caches(model: str) -> bool:
    """Whether the model honours ``cachePoint`` blocks (a missed cache point is a missed saving)."""
    return family_of(model) == "anthropic" or _is_nova(model)


def caches_tools(model: str) -> bool:
    """Whether a ``cachePoint`` may follow a tool in ``toolConfig.tools`` (Nova: system and messages only)."""
    return family_of(model) in _TOOL_CACHE_FAMILIES


def structured_output(model: str) -> StructuredOutput | None:
    """How the model is held to a JSON schema: ``textFormat``, a forced answer tool, or not at all (``None``)."""
    if _is_nova(model):
        return "answer_tool"
    if family_of(model) in _NO_STRUCTURED_OUTPUT:
        return None
    return "text_format"


def reasons(model: str) -> bool:
    """Whether the model can return reasoning at all."""
    family = family_of(model)
    return (
        family == "anthropic"
        or _is_nova_2(model)
        or family == "openai"  # gpt-oss
        or base_model_id(model).startswith("deepseek.r1")
    )


def reasoning_fields(model: str, thinking: ThinkingConfigParam | None, effort: str | None) -> JSON:
    """The ``additionalModelRequestFields`` that ask ``model`` for the reasoning Anthropic's ``thinking`` asks for.

    ``enabled`` on a model that cannot reason is a 400, as Anthropic's API answers for such a model. ``adaptive``
    lets the model decide how much to think, which for a model that cannot think is not at all: the request is
    answered without reasoning (Claude Code sends ``adaptive`` to every model it does not know).
    """
    kind = thinking["type"] if thinking else "disabled"
    if kind == "disabled":
        return {}
    family = family_of(model)
    if family == "anthropic":
        return {"thinking": dict(thinking or {})}
    if not reasons(model):
        if kind == "enabled":
            raise InvalidRequestError(
                f"thinking: model {model} cannot reason on Bedrock; leave thinking out or use a model that reasons "
                "(Claude, Nova 2, gpt-oss, DeepSeek R1)"
            )
        return {}
    level = _level(thinking, effort)
    if family == "amazon":
        return {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": level}}
    if family == "openai":
        return {"reasoning_effort": level}
    return {}  # DeepSeek R1 always reasons: nothing to ask for


def output_effort(model: str, output_config: OutputConfigParam | None) -> str | None:
    """Converse's ``outputConfig.effort``, which only Claude reads; elsewhere the effort only shapes reasoning
    (``reasoning_fields``): a model without effort levels answers the same at every level."""
    effort = (output_config or {}).get("effort")
    return effort if effort and family_of(model) == "anthropic" else None


def _level(thinking: ThinkingConfigParam | None, effort: str | None) -> str:
    if thinking and thinking["type"] == "enabled":
        budget = thinking["budget_tokens"]
        return next((level for limit, level in _BUDGET_LEVELS if budget < limit), "high")
    return _EFFORT_LEVEL.get(effort or _DEFAULT_EFFORT, _DEFAULT_EFFORT)


def _is_nova(model: str) -> bool:
    return base_model_id(model).startswith("amazon.nova-")


def _is_nova_2(model: str) -> bool:
    return base_model_id(model).startswith("amazon.nova-2-")
