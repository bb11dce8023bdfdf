"""Lines of an Anthropic batch results file, the same for every provider that translates one."""

from __future__ import annotations

import orjson

from finops.core.types import JSON


def errored_result(custom_id: str, error_type: str, message: str) -> JSON:
    """The ``errored`` result of one request, with the Anthropic error envelope inside."""
    return {
        "custom_id": custom_id,
        "result": {
            "type": "errored",
            "error": {"type": "error", "error": {"type": error_type, "message": message}, "request_id": None},
        },
    }


def result_line(result: JSON) -> bytes:
    """One result as a JSONL line."""
    return orjson.dumps(result) + b"\n"
