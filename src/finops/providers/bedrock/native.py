"""A model family's native InvokeModel body for an Anthropic Messages request (pure): what a Bedrock batch job
record carries as ``modelInput`` (``{"recordId", "modelInput"}``, issue 16), built by the same translators as the
live calls, so a batch and a message are translated one way.

- Claude: the InvokeModel body (``invoke.to_invoke_body``).
- Nova: its native body is the Converse request with blobs as base64 and the family's extra fields at the top
  level (AWS, Nova "Request and response schema" and "Core inference": ``reasoningConfig`` and ``topK`` are
  top-level parameters of InvokeModel), plus ``schemaVersion: messages-v1``. Documents are Converse-only: refused.
- Every other family's native body is a prompt template of its own; the gateway builds none, so those requests
  are refused here (a Bedrock batch job of ``modelInvocationType: Converse`` takes ``to_converse_request``).

Structured output on Nova uses the forced answer tool (``translate.AnswerShape``): results read back with
``answers.from_converse_response`` must be given the plan's shape, as live answers are.
"""

from __future__ import annotations

from finops.core.errors import InvalidRequestError
from finops.core.params import MessageParams
from finops.core.types import JSON
from finops.providers.bedrock.invoke import to_invoke_body
from finops.providers.bedrock.models import family_of
from finops.providers.bedrock.translate import AnswerShape, ConversePlan, plan_converse

NOVA_SCHEMA_VERSION = "messages-v1"


def to_model_input(params: MessageParams, *, anthropic_beta: list[str] | None = None) -> JSON:
    """The native InvokeModel body of ``params["model"]``'s family."""
    return native_plan(params, anthropic_beta=anthropic_beta).request


def native_plan(params: MessageParams, *, anthropic_beta: list[str] | None = None) -> ConversePlan:
    """The native body and how to read its answer back (``AnswerShape``; Claude's answer is Anthropic's own)."""
    model = params["model"]
    family = family_of(model)
    if family == "anthropic":
        return ConversePlan(to_invoke_body(params, anthropic_beta=anthropic_beta), AnswerShape())
    if family == "amazon":
        plan = plan_converse(params)
        request = dict(plan.request)
        extra = request.pop("additionalModelRequestFields", {})
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(request.get(key), dict):
                request[key] = {**request[key], **value}
            else:
                request[key] = value
        if any("document" in block for message in request["messages"] for block in message["content"]):
            raise InvalidRequestError(f"model {model}: Nova's InvokeModel takes no documents (Converse only)")
        request["schemaVersion"] = NOVA_SCHEMA_VERSION
        return ConversePlan(request, plan.answer)
    raise InvalidRequestError(
        f"model {model}: the gateway builds no native InvokeModel body for this family; use Converse "
        "(`translate.to_converse_request`)"
    )
