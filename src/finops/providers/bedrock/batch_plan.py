"""Split an Anthropic batch into Bedrock batch-job input files, one per model, written straight to disk.

A Bedrock job runs one model, so each request is translated once, with the same translators as a live call, into a
record ``{"recordId": custom_id, "modelInput": <body>}`` appended to its model's JSONL file: the native InvokeModel
body where the gateway builds one (``native.native_plan``: Claude, Nova), else the Converse request
(``translate.plan_converse``) for a job of ``modelInvocationType: Converse`` (Llama, Mistral, every other
family). A file that would pass Bedrock's per-job caps is closed and the model continues in a new one. Nothing but
the caller's parsed body stays in memory.

Structured output on Nova is read back through a forced answer tool (``translate.AnswerShape``); the few requests
whose answer needs a non-default shape keep it in ``PartFile.shapes`` (custom_id -> [json_tool, hide_thinking]).

Runs in a worker thread: translating and serialising a large batch is CPU work that must not stall the loop.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, cast

import orjson

from finops.core.errors import InvalidRequestError
from finops.core.params import MessageParams
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
class PartFile:
    model: str
    path: Path
    count: int = 0
    size: int = 0
    shapes: dict[str, list[Any]] = field(default_factory=dict)
    invocation: InvocationType = "InvokeModel"


def write_batch_parts(requests: list[dict[str, Any]], directory: Path) -> list[PartFile]:
    """Translate ``requests`` (validated by the core) into per-model JSONL files under ``directory``, in the order
    their model first appears. Input Bedrock cannot express raises ``InvalidRequestError`` naming the request,
    before anything was sent anywhere."""
    models: dict[str, int] = {}
    parts: list[PartFile] = []
    open_parts: dict[str, tuple[PartFile, IO[bytes]]] = {}
    # A model past the per-job cap is split evenly (50,030 requests: two jobs of 25,015, not 50,000 and a tail of
    # 30 that would fall below Bedrock's minimum records per job).
    totals = Counter(str(request["params"]["model"]) for request in requests)
    per_part = {model: math.ceil(total / math.ceil(total / MAX_RECORDS_PER_JOB)) for model, total in totals.items()}
    try:
        for index, request in enumerate(requests):
            params = request["params"]
            model = params["model"]
            if model not in models:
                if len(models) == MAX_MODELS_PER_BATCH:
                    raise InvalidRequestError(
                        f"requests.{index}.params.model: a Bedrock batch job runs one model and a batch may name at "
                        f"most {MAX_MODELS_PER_BATCH} models; split this batch"
                    )
                models[model] = len(models)
            custom_id = request["custom_id"]
            line, shape = _record(index, custom_id, params)
            part, handle = _part_for(model, len(line), per_part[model], open_parts, parts, directory)
            part.invocation = invocation_type(model)
            handle.write(line)
            part.count += 1
            part.size += len(line)
            if shape != AnswerShape():
                part.shapes[custom_id] = [shape.json_tool, shape.hide_thinking]
    finally:
        for _, handle in open_parts.values():
            handle.close()
    parts.sort(key=lambda part: models[part.model])
    return parts


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


def _part_for(
    model: str,
    line_size: int,
    max_records: int,
    open_parts: dict[str, tuple[PartFile, IO[bytes]]],
    parts: list[PartFile],
    directory: Path,
) -> tuple[PartFile, IO[bytes]]:
    current = open_parts.get(model)
    if current is not None:
        part, handle = current
        if part.count < max_records and part.size + line_size <= MAX_BYTES_PER_JOB:
            return current
        handle.close()
    part = PartFile(model=model, path=directory / f"part-{len(parts) + 1}.jsonl")
    parts.append(part)
    opened = (part, part.path.open("wb"))
    open_parts[model] = opened
    return opened
