"""Anthropic result lines for one part of a gateway batch, streamed from OpenAI's output and error files.

Memory stays flat whatever the batch size: files are read line by line, and the only thing kept is the set of
``custom_id`` values already answered, so that requests found in neither file can be reported too (canceled,
expired, or errored). Those are listed by re-reading the part's own input file, which the gateway uploaded and
OpenAI lets it download; that read happens only when something is missing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

import orjson

from finops.core.errors import GatewayError
from finops.core.types import JSON
from finops.providers.openai.batch_lines import canceled_result, expired_result, from_batch_output_line
from finops.providers.result_lines import errored_result, result_line

LineOpener = Callable[[str], Awaitable[AsyncGenerator[str, None]]]
"""Opens an upstream file by id and yields its lines."""

logger = logging.getLogger("finops.providers.openai")

_MAX_REASONS = 3  # a failed batch can list 100 line errors; the first few say what went wrong
_ERROR_TYPE_BY_CODE = {"token_limit_exceeded": "rate_limit_error"}


async def part_results(part: JSON, batch: JSON, cancel_requested: bool, open_lines: LineOpener) -> AsyncIterator[bytes]:
    """``orjson`` JSONL lines (``{custom_id, result}``) for every request of ``part``; ``batch`` is its OpenAI
    object (already ended)."""
    status = batch.get("status")
    if status == "failed":
        error = failure_error(batch)
        async for custom_id in input_custom_ids(part, open_lines):
            yield result_line(errored_result(custom_id, *error))
        return

    seen: set[str] = set()
    for file_id in (batch.get("output_file_id"), batch.get("error_file_id")):
        if not file_id:
            continue
        async with aclosing(await open_lines(file_id)) as lines:
            async for raw in lines:
                result = _translate(raw)
                if result is None or result["custom_id"] in seen:
                    continue
                seen.add(result["custom_id"])
                yield result_line(result)

    if len(seen) >= int(part["count"]):
        return
    async for custom_id in input_custom_ids(part, open_lines):
        if custom_id not in seen:
            yield result_line(missing_result(custom_id, status, cancel_requested))


def missing_result(custom_id: str, status: Any, cancel_requested: bool) -> JSON:
    """A request in neither file: the same verdict ``batch_status.part_counts`` gives it."""
    if status == "expired":
        return expired_result(custom_id)
    if status == "cancelled" or cancel_requested:
        return canceled_result(custom_id)
    return errored_result(custom_id, "api_error", "the openai provider ended the batch without running this request")


def failure_error(batch: JSON) -> tuple[str, str]:
    """Error type and message for the requests of a batch OpenAI refused as a whole (``failed``)."""
    errors = (batch.get("errors") or {}).get("data") or []
    messages = [str(error.get("message")) for error in errors[:_MAX_REASONS] if error.get("message")]
    codes = [error.get("code") for error in errors]
    error_type = next((_ERROR_TYPE_BY_CODE[code] for code in codes if code in _ERROR_TYPE_BY_CODE), None)
    reason = "; ".join(messages) or "the upstream batch failed validation"
    return error_type or "invalid_request_error", f"the openai batch failed: {reason}"


async def input_custom_ids(part: JSON, open_lines: LineOpener) -> AsyncIterator[str]:
    async with aclosing(await open_lines(part["input_file_id"])) as lines:
        async for raw in lines:
            if raw.strip():
                custom_id = orjson.loads(raw).get("custom_id")
                if isinstance(custom_id, str):
                    yield custom_id


def _translate(raw: str) -> JSON | None:
    if not raw.strip():
        return None
    try:
        line = orjson.loads(raw)
    except orjson.JSONDecodeError:
        # The request it belonged to is reported from the input file instead, as not run.
        logger.warning("skipping an unreadable line in an openai batch result file")
        return None
    if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
        return None
    try:
        return from_batch_output_line(line)
    except GatewayError as exc:
        # One odd completion (no choices...) must not cut the stream of the other 99,999.
        return errored_result(line["custom_id"], exc.error_type, exc.message)
