"""Anthropic result lines for one part of a gateway batch, streamed from its ``.jsonl.out`` in S3.

An output record is ``{"recordId", "modelInput", "modelOutput"}`` or ``{..., "error": {"errorCode",
"errorMessage"}}`` (Bedrock's, or the gateway's own for a part it ran on demand, written the same way). Each is
translated as a live answer is (``invoke.from_invoke_response`` for Claude, ``answers.from_converse_response`` for
Nova), with ``usage.service_tier`` saying how it was priced: ``batch`` for a job, ``standard`` for an on-demand
run. Memory stays flat: files are read line by line and only the set of answered ``custom_id`` values is kept, so
that records without an output line can be reported from the part's input file (canceled, expired or errored,
the verdict ``batch_status`` counts them with).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

import orjson

from finops.core.errors import GatewayError, error_for_status
from finops.core.ids import new_message_id
from finops.core.types import JSON
from finops.providers.bedrock.answers import from_converse_response
from finops.providers.bedrock.batch_plan import shape_of
from finops.providers.bedrock.batch_status import PartState, missing_verdict
from finops.providers.bedrock.invoke import from_invoke_response
from finops.providers.bedrock.models import is_anthropic_model
from finops.providers.result_lines import errored_result, result_line

LineReader = Callable[[str], AsyncIterator[str]]
"""Yields the lines of an S3 object, by key."""

logger = logging.getLogger("finops.providers")


def from_output_record(record: JSON, *, model: str, shapes: JSON, service_tier: str) -> JSON:
    """The Anthropic result for one output record."""
    custom_id = str(record.get("recordId"))
    output = record.get("modelOutput")
    if not isinstance(output, dict):
        found = record.get("error")
        error: JSON = found if isinstance(found, dict) else {}
        code = error.get("errorCode")
        status = int(code) if isinstance(code, int | str) and str(code).isdigit() else 500
        text = str(error.get("errorMessage") or "the record failed")
        return errored_result(custom_id, error_for_status(status).error_type, f"Bedrock: {text}")
    if is_anthropic_model(model):
        message = from_invoke_response(output, model=model, message_id=new_message_id())
    else:
        message = from_converse_response(
            output, model=model, message_id=new_message_id(), shape=shape_of(shapes, custom_id)
        )
    message["usage"]["service_tier"] = service_tier
    return {"custom_id": custom_id, "result": {"type": "succeeded", "message": message}}


def missing_result(custom_id: str, state: PartState, cancel_requested: bool) -> JSON:
    verdict = missing_verdict(state.status, cancel_requested)
    if verdict == "errored":
        reason = state.message if state.status == "Failed" and state.message else "the job ended without running it"
        return errored_result(custom_id, "api_error", f"Bedrock batch job: {reason}")
    return {"custom_id": custom_id, "result": {"type": verdict}}


async def part_results(
    part: JSON,
    state: PartState,
    cancel_requested: bool,
    output_keys: list[str],
    read_lines: LineReader,
) -> AsyncIterator[bytes]:
    """JSONL result lines for every request of ``part`` (ended), from the output objects ``output_keys``."""
    model = str(part["model"])
    shapes = part.get("shapes") or {}
    tier = "standard" if part.get("mode") == "on_demand" else "batch"
    seen: set[str] = set()
    if state.status != "Failed":
        for key in output_keys:
            async for raw in read_lines(key):
                result = _translate(raw, model, shapes, tier)
                if result is None or result["custom_id"] in seen:
                    continue
                seen.add(result["custom_id"])
                yield result_line(result)
    if len(seen) >= int(part["count"]):
        return
    async for raw in read_lines(part["input_key"]):
        if not raw.strip():
            continue
        custom_id = orjson.loads(raw).get("recordId")
        if isinstance(custom_id, str) and custom_id not in seen:
            yield result_line(missing_result(custom_id, state, cancel_requested))


def _translate(raw: str, model: str, shapes: JSON, tier: str) -> JSON | None:
    if not raw.strip():
        return None
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        logger.warning("skipping an unreadable line in a bedrock batch output file")
        return None
    if not isinstance(record, dict) or not isinstance(record.get("recordId"), str):
        return None
    try:
        return from_output_record(record, model=model, shapes=shapes, service_tier=tier)
    except GatewayError as exc:
        return errored_result(record["recordId"], exc.error_type, exc.message)
    except (KeyError, TypeError, ValueError, AttributeError):
        # One odd answer must not cut the stream of the other 99,999.
        return errored_result(record["recordId"], "api_error", "Bedrock returned an answer the gateway cannot read")
