"""Split an Anthropic batch into Bedrock batch-job input files, one per model, written straight to disk.

A Bedrock job runs one model, so each request is translated once, with the same translators as a live call, into a
record ``{"recordId": custom_id, "modelInput": <body>}`` appended to its model's JSONL file
(``providers.batch_spool``, within Bedrock's per-job caps): the native InvokeModel body where the gateway builds
one (``native.native_plan``: Claude, Nova), else the Converse request (``translate.plan_converse``) for a job of
``modelInvocationType: Converse`` (Llama, Mistral, every other family). Nothing but the caller's parsed body stays
in memory.

Structured output on Nova is read back through a forced answer tool (``translate.AnswerShape``); the few requests
whose answer needs a non-default shape keep it in ``PartFile.shapes`` (custom_id -> [json_tool, hide_thinking]).

Runs in a worker thread: translating and serialising a large batch is CPU work that must not stall the loop.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import orjson

from finops.core.errors import InvalidRequestError
from finops.core.params import MessageParams
from finops.providers.batch_spool import PartSpool, SpooledPart
from finops.providers.bedrock.models import family_of
from finops.providers.bedrock.native import native_plan
from finops.providers.bedrock.translate import AnswerShape, plan_converse

InvocationType = Literal["InvokeModel", "Converse"]
_NATIVE_FAMILIES = frozenset({"anthropic", "amazon"})

MAX_RECORDS_PER_JOB = 50_000
"""Bedrock's default quota of records per batch inference job."""
MAX_BYTES_PER_JOB = 1024 * 1024 * 1024
"""Bedrock's limit on one job's input file (1 GB)."""
MAX_MODELS_PER_BATCH = 16
"""Each model becomes at least one job; more models than this in one batch is almost certainly a mistake."""


@dataclass
class PartFile(SpooledPart):
    shapes: dict[str, list[Any]] = field(default_factory=dict)
    invocation: InvocationType = "InvokeModel"


def write_batch_parts(requests: list[dict[str, Any]], directory: Path) -> list[PartFile]:
    """Translate ``requests`` (validated by the core) into per-model JSONL files under ``directory``, in the order
    their model first appears. Input Bedrock cannot express raises ``InvalidRequestError`` naming the request,
    before anything was sent anywhere."""
    # A model past the per-job cap is split evenly (50,030 requests: two jobs of 25,015, not 50,000 and a tail of
    # 30 that would fall below Bedrock's minimum records per job).
    totals = Counter(str(request["params"]["model"]) for request in requests)
    per_part = {model: math.ceil(total / math.ceil(total / MAX_RECORDS_PER_JOB)) for model, total in totals.items()}
    spool = PartSpool(
        directory,
        PartFile,
        max_models=MAX_MODELS_PER_BATCH,
        max_bytes=MAX_BYTES_PER_JOB,
        too_many_models="a Bedrock batch job runs one model",
        too_large="a Bedrock batch job's input file",
    )
    with spool:
        for index, request in enumerate(requests):
            params = request["params"]
            model = params["model"]
            spool.check_model(index, model)
            custom_id = request["custom_id"]
            line, shape = _record(index, custom_id, params)
            part = spool.write(model, line, per_part[model])
            part.invocation = invocation_type(model)
            if shape != AnswerShape():
                part.shapes[custom_id] = [shape.json_tool, shape.hide_thinking]
    return spool.parts()


def shape_of(shapes: dict[str, Any], custom_id: str) -> AnswerShape:
    found = shapes.get(custom_id)
    return AnswerShape(json_tool=found[0], hide_thinking=bool(found[1])) if found else AnswerShape()


def invocation_type(model: str) -> InvocationType:
    """InvokeModel where the gateway builds the family's native body (Claude, Amazon), Converse elsewhere."""
    return "InvokeModel" if family_of(model) in _NATIVE_FAMILIES else "Converse"


def _record(index: int, custom_id: str, params: dict[str, Any]) -> tuple[bytes, AnswerShape]:
    message_params = cast(MessageParams, params)
    try:
        if invocation_type(params["model"]) == "InvokeModel":
            plan = native_plan(message_params)
        else:
            plan = plan_converse(message_params)
    except InvalidRequestError as exc:
        raise InvalidRequestError(f"requests.{index}.params.{exc.message}") from None
    return orjson.dumps({"recordId": custom_id, "modelInput": plan.request}) + b"\n", plan.answer
