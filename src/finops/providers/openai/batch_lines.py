"""Pure mapping between Anthropic batch requests/results and OpenAI Batch JSONL lines.

The adapter writes ``to_batch_line`` output as the JSONL input file, reads the output and error files line by
line through ``from_batch_output_line``, and fills the requests found in neither with ``canceled_result`` or
``expired_result``.
"""

from __future__ import annotations

from finops.core.errors import error_for_status
from finops.core.params import MessageParams
from finops.core.types import JSON
from finops.providers.base import ProcessingStatus
from finops.providers.openai.translate import (
    from_chat_response,
    openai_error_message,
    to_chat_request,
)
from finops.providers.upstream_errors import redact

CHAT_COMPLETIONS_ENDPOINT = "/v1/chat/completions"

_BATCH_STATUS_MAP: dict[str, ProcessingStatus] = {
    "validating": "in_progress",
    "in_progress": "in_progress",
    "finalizing": "in_progress",
    "cancelling": "canceling",
    "completed": "ended",
    "failed": "ended",
    "expired": "ended",
    "cancelled": "ended",
}

# Error-file codes that are not failures of the request itself but of the batch around it.
_UNFINISHED_RESULT_BY_ERROR_CODE: dict[str, str] = {
    "batch_expired": "expired",
    "batch_cancelled": "canceled",
}

# An error-file line without a response was refused before it ran (bad body, unknown model...): the request's
# fault unless OpenAI says otherwise.
_LINE_ERROR_TYPE = "invalid_request_error"


def to_batch_line(custom_id: str, params: MessageParams) -> JSON:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": CHAT_COMPLETIONS_ENDPOINT,
        "body": to_chat_request(params),
    }


def from_batch_output_line(line: JSON) -> JSON:
    """One OpenAI output- or error-file line as an Anthropic result line ``{custom_id, result}``."""
    custom_id = line.get("custom_id")
    response = line.get("response")
    error = line.get("error")

    if isinstance(response, dict) and response.get("status_code") == 200:
        message = from_chat_response(response.get("body") or {})
        return {"custom_id": custom_id, "result": {"type": "succeeded", "message": message}}

    if isinstance(response, dict) and response.get("status_code") is not None:
        status = int(response["status_code"])
        error_type = error_for_status(status).error_type
        message_text = openai_error_message(status, response.get("body"))
        return _errored(custom_id, error_type, message_text, response.get("request_id"))

    if isinstance(error, dict):
        unfinished = _UNFINISHED_RESULT_BY_ERROR_CODE.get(error.get("code") or "")
        if unfinished is not None:
            return {"custom_id": custom_id, "result": {"type": unfinished}}
        message_text = redact(error.get("message") or f"request failed ({error.get('code')})")
        return _errored(custom_id, _LINE_ERROR_TYPE, message_text, None)

    return _errored(custom_id, "api_error", "the openai provider returned a result with no response or error", None)


def _errored(custom_id: str | None, error_type: str, message: str, request_id: str | None) -> JSON:
    return {
        "custom_id": custom_id,
        "result": {
            "type": "errored",
            "error": {
                "type": "error",
                "error": {"type": error_type, "message": f"openai: {message}"},
                "request_id": request_id,
            },
        },
    }


def canceled_result(custom_id: str) -> JSON:
    return {"custom_id": custom_id, "result": {"type": "canceled"}}


def expired_result(custom_id: str) -> JSON:
    return {"custom_id": custom_id, "result": {"type": "expired"}}


def map_batch_status(openai_status: str) -> ProcessingStatus:
    """Anthropic ``processing_status`` for an OpenAI batch status.

    An unknown status reads as ``in_progress``: the batch stays visible and is polled again, rather than
    failing every retrieve until the gateway learns the new word.
    """
    return _BATCH_STATUS_MAP.get(openai_status, "in_progress")
