"""One batch-inference record through the emulated model: ``modelInput`` in, ``modelOutput`` or ``error`` out.

``modelOutput`` is exactly what the runtime API would have answered for the same body:

- ``InvokeModel`` jobs on Anthropic models: the InvokeModel response (an Anthropic Message), from ``invoke``;
- ``InvokeModel`` jobs on Amazon Nova: Nova's native body is the Converse request (its ``schemaVersion``
  aside) and its native answer is the Converse response without ``metrics``, so ``converse`` produces both;
- ``Converse`` jobs (``modelInvocationType: Converse``) on any family: the Converse response.

A record whose body the model refuses gets ``{"errorCode": 400, "errorMessage": ...}`` with the message the
runtime API gives; a prompt carrying the emulator's ``[emulate:throttlingException]``-style marker fails with
that exception's status. Each record is independent: a batch job shares no prompt cache between records.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from finops.emulators._common.prompt_cache import BreakpointCache
from finops.emulators.bedrock import converse, invoke
from finops.emulators.bedrock.errors import BedrockError
from finops.emulators.bedrock.generate import failure_error, requested_failure
from finops.emulators.bedrock.models import Model

InvocationType = Literal["InvokeModel", "Converse"]


@dataclass(frozen=True)
class RecordResult:
    output: dict[str, Any] | None
    """The ``modelOutput`` object, or None when the record failed."""
    error: dict[str, Any] | None
    """``{"errorCode", "errorMessage"}`` when it failed."""
    input_tokens: int = 0
    output_tokens: int = 0


def supports(model: Model, invocation_type: InvocationType) -> bool:
    """Whether the emulator can run a job of this type on ``model``."""
    if invocation_type == "Converse":
        return True
    return model.is_anthropic or model.base_id.startswith("amazon.nova")


def run_record(model: Model, invocation_type: InvocationType, model_input: Any) -> RecordResult:
    try:
        if invocation_type == "InvokeModel" and model.is_anthropic:
            return _anthropic(model, model_input)
        return _converse(model, invocation_type, model_input)
    except BedrockError as error:
        return RecordResult(output=None, error={"errorCode": error.status, "errorMessage": error.message})


def _anthropic(model: Model, model_input: Any) -> RecordResult:
    call = invoke.run(invoke.parse_body(orjson.dumps(model_input)), model, BreakpointCache())
    failure = requested_failure(call.prompt)
    if failure:
        raise failure_error(failure)
    usage = call.usage
    return RecordResult(invoke.message(call, model), None, usage.total, call.outcome.output_tokens)


def _converse(model: Model, invocation_type: InvocationType, model_input: Any) -> RecordResult:
    started = time.monotonic()
    body = dict(model_input) if isinstance(model_input, dict) else model_input
    if invocation_type == "InvokeModel" and isinstance(body, dict):
        body.pop("schemaVersion", None)  # Nova's native envelope; the rest is the Converse request
    parsed = converse.parse_body(orjson.dumps(body))
    call = converse.run(parsed, model, BreakpointCache())
    failure = requested_failure(converse.prompt_of(parsed))
    if failure:
        raise failure_error(failure)
    output = converse.response(call, max(1, round((time.monotonic() - started) * 1000)))
    if invocation_type == "InvokeModel":
        output.pop("metrics", None)
    usage = converse.usage(call)
    return RecordResult(output, None, usage.get("inputTokens", 0), usage.get("outputTokens", 0))
