"""Anthropic ``thinking`` and ``output_config.effort`` -> OpenAI ``reasoning_effort``. Pure.

On a reasoning model (``capabilities.reasoning``):

- ``output_config.effort`` (low … max) becomes the model's nearest effort: the highest one it takes that is not
  above the asked one (``max`` is ``high`` on o4-mini, ``xhigh`` on gpt-5.2), else its lowest;
- ``thinking: enabled`` without an effort takes it from ``budget_tokens`` (under 4,096 low, under 16,384 medium,
  under 65,536 high, else xhigh). The budget is no cap on OpenAI, which limits reasoning only through
  ``max_completion_tokens`` (the request's ``max_tokens``), as Anthropic's budget also counts inside ``max_tokens``;
- ``thinking: adaptive`` without an effort leaves the model to its own default ("the model decides");
- ``thinking: disabled`` asks for the model's least reasoning (``none`` where it has it; ``minimal`` on gpt-5;
  o-series models cannot stop reasoning and get ``low``).

On a model that does not reason, ``thinking: enabled`` is a 400 (Anthropic refuses thinking on a model without
it); ``adaptive`` and ``disabled`` and an effort ask for nothing the model can do differently, so nothing is sent:
it answers without reasoning, a valid outcome of "the model decides".

Chat Completions never returns the reasoning itself, so no ``thinking`` block comes back; its size comes back in
``usage.output_tokens_details.thinking_tokens`` (``translate.map_usage``).
"""

from __future__ import annotations

from finops.core.errors import InvalidRequestError
from finops.core.params import MessageParams
from finops.providers.openai.capabilities import reasoning

_BUDGET_EFFORTS = ((4_096, "low"), (16_384, "medium"), (65_536, "high"))
_LARGEST_BUDGET_EFFORT = "xhigh"


def reasoning_effort(params: MessageParams, model: str) -> str | None:
    """The ``reasoning_effort`` to send for ``params`` on ``model``, or ``None`` to send none."""
    thinking = params.get("thinking")
    kind = thinking["type"] if thinking else None
    effort: str | None = (params.get("output_config") or {}).get("effort")
    profile = reasoning(model)
    if profile is None:
        if kind == "enabled":
            raise InvalidRequestError(
                f"thinking.type: 'enabled' is not supported by provider 'openai' (model {model}): the model does "
                "not reason; use a reasoning model (o-series, gpt-5 and later), or thinking type 'adaptive' to let "
                "the model decide"
            )
        return None
    if kind == "disabled":
        return profile.least
    if effort is None and thinking is not None and thinking["type"] == "enabled":
        effort = _effort_for_budget(thinking["budget_tokens"])
    return profile.closest(effort) if effort is not None else None


def _effort_for_budget(budget: int) -> str:
    for below, effort in _BUDGET_EFFORTS:
        if budget < below:
            return effort
    return _LARGEST_BUDGET_EFFORT
