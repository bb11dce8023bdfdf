"""Batch input files (JSONL): line checks shared by the upload and the batch's validation phase.

Files are read line by line from disk, never whole, because a batch input can be 200 MB.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

MAX_REQUESTS = 50_000
MAX_REPORTED_ERRORS = 100  # a batch object stays readable even if every one of 50,000 lines is wrong


@dataclass
class LineError:
    code: str
    line: int | None
    message: str
    param: str | None = None

    def to_object(self) -> dict[str, Any]:
        return {"code": self.code, "line": self.line, "message": self.message, "param": self.param}


def iter_lines(path: Path) -> Generator[tuple[int, bytes]]:
    """``(line_number, raw_line)`` for every non-blank line; numbers are 1-based, as in the real API."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                yield number, raw


def parse_line(number: int, raw: bytes) -> tuple[dict[str, Any] | None, LineError | None]:
    """Decode one input line and check the envelope (``custom_id``, ``method``, ``url``, ``body``)."""
    try:
        item = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None, LineError("invalid_json_line", number, "This line is not parseable as valid JSON.")
    if not isinstance(item, dict):
        return None, LineError("invalid_json_line", number, "This line is not a JSON object.")
    for name, kind in (("custom_id", str), ("method", str), ("url", str), ("body", dict)):
        if not isinstance(item.get(name), kind):
            return None, LineError(
                "missing_required_parameter",
                number,
                f"Missing or invalid required parameter '{name}' on line {number}.",
                name,
            )
    if item["method"] != "POST":
        return None, LineError("invalid_method", number, "Only the 'POST' method is supported.", "method")
    return item, None


def check_upload(path: Path) -> LineError | None:
    """The first problem that makes ``path`` unusable as a batch input, or None (an empty file passes)."""
    for count, (number, raw) in enumerate(iter_lines(path), start=1):
        if count > MAX_REQUESTS:
            return LineError(
                "too_many_tasks", number, f"A batch input file can contain at most {MAX_REQUESTS} requests."
            )
        _, error = parse_line(number, raw)
        if error is not None:
            return error
    return None


@dataclass
class Validation:
    errors: list[LineError]
    total: int
    model: str | None


def validate_for_batch(path: Path, endpoint: str) -> Validation:
    """Every check the real API runs before a batch goes ``in_progress``; any error fails the whole batch.

    Per-request problems inside ``body`` (missing messages, unknown model) are not checked here: those
    requests are run and land in the error file instead.
    """
    errors: list[LineError] = []
    seen: set[str] = set()
    model: str | None = None
    total = 0

    def add(error: LineError) -> None:
        if len(errors) < MAX_REPORTED_ERRORS:
            errors.append(error)

    for number, raw in iter_lines(path):
        total += 1
        item, error = parse_line(number, raw)
        if error is not None:
            add(error)
            continue
        assert item is not None
        if item["url"] != endpoint:
            add(
                LineError(
                    "url_mismatch",
                    number,
                    f"The url '{item['url']}' does not match the batch endpoint '{endpoint}'.",
                    "url",
                )
            )
        if item["custom_id"] in seen:
            add(
                LineError(
                    "duplicate_custom_id",
                    number,
                    f"The custom_id '{item['custom_id']}' is used by more than one request; "
                    "custom_id must be unique within a batch.",
                    "custom_id",
                )
            )
        seen.add(item["custom_id"])
        line_model = item["body"].get("model")
        if isinstance(line_model, str):
            if model is None:
                model = line_model
            elif line_model != model:
                add(
                    LineError(
                        "model_mismatch",
                        number,
                        f"All requests in a batch must use the same model: line {number} uses '{line_model}' "
                        f"but earlier lines use '{model}'.",
                        "body.model",
                    )
                )
    if total == 0:
        add(LineError("empty_file", None, "The input file is empty; a batch needs at least one request."))
    elif total > MAX_REQUESTS:
        add(LineError("too_many_tasks", None, f"A batch input file can contain at most {MAX_REQUESTS} requests."))
    return Validation(errors=errors, total=total, model=model)
