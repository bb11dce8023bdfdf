"""Split an Anthropic batch into OpenAI batch input files, written straight to disk.

OpenAI runs one model per batch and caps an input file at 50,000 requests and 200 MB, while an Anthropic batch
may hold 100,000 requests on any mix of models. Each request is translated once and appended to the JSONL file
of its model; a file that would pass a cap is closed and the model continues in a new one. Nothing but the
caller's own parsed body stays in memory (100,000 translated requests are never held twice).

Runs in a worker thread: translating and serialising a large batch is CPU work that must not stall the loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import orjson

from finops.core.errors import InvalidRequestError
from finops.core.params import MessageParams
from finops.providers.openai.batch_lines import to_batch_line

MAX_LINES_PER_FILE = 50_000
"""OpenAI's limit on requests in one batch input file."""
MAX_BYTES_PER_FILE = 190 * 1024 * 1024
"""OpenAI's 200 MB limit, less a margin (the limit is counted by OpenAI, maybe in MiB or MB)."""
MAX_MODELS_PER_BATCH = 16
"""Each model becomes at least one upstream batch; a batch naming more models than this is almost certainly a
mistake (a typo per request?) and would create a storm of upstream batches."""


@dataclass
class PartFile:
    """One upstream batch to be: its model, its JSONL input file and how many requests it holds."""

    model: str
    path: Path
    count: int = 0
    size: int = 0


def write_batch_parts(requests: list[dict[str, Any]], directory: Path) -> list[PartFile]:
    """Translate ``requests`` (already validated by the core) into per-model JSONL files under ``directory``.

    Parts come out in the order their model first appears. Input the openai provider cannot express raises
    ``InvalidRequestError`` naming the request, before anything was sent anywhere.
    """
    models: dict[str, int] = {}
    parts: list[PartFile] = []
    open_parts: dict[str, tuple[PartFile, IO[bytes]]] = {}
    try:
        for index, request in enumerate(requests):
            params = request["params"]
            model = params["model"]
            if model not in models:
                if len(models) == MAX_MODELS_PER_BATCH:
                    raise InvalidRequestError(
                        f"requests.{index}.params.model: the openai provider runs one model per upstream batch and "
                        f"a batch may name at most {MAX_MODELS_PER_BATCH} models; split this batch"
                    )
                models[model] = len(models)
            line = _translated_line(index, request["custom_id"], params)
            part, handle = _part_for(model, len(line), open_parts, parts, directory)
            handle.write(line)
            part.count += 1
            part.size += len(line)
    finally:
        for _, handle in open_parts.values():
            handle.close()
    # Same model together, models in first-seen order: easier to read in the stored state.
    parts.sort(key=lambda part: models[part.model])
    return parts


def _translated_line(index: int, custom_id: str, params: dict[str, Any]) -> bytes:
    try:
        # Each request's params were parsed and checked against the field policy by the core.
        return orjson.dumps(to_batch_line(custom_id, cast(MessageParams, params))) + b"\n"
    except InvalidRequestError as exc:
        # The translator names the field; the caller needs to know which of 100,000 requests it is in.
        raise InvalidRequestError(f"requests.{index}.params.{exc.message}") from None


def _part_for(
    model: str,
    line_size: int,
    open_parts: dict[str, tuple[PartFile, IO[bytes]]],
    parts: list[PartFile],
    directory: Path,
) -> tuple[PartFile, IO[bytes]]:
    current = open_parts.get(model)
    if current is not None:
        part, handle = current
        if part.count < MAX_LINES_PER_FILE and part.size + line_size <= MAX_BYTES_PER_FILE:
            return current
        handle.close()
    if line_size > MAX_BYTES_PER_FILE:
        raise InvalidRequestError(f"a request for {model!r} is larger than an OpenAI batch input file may be")
    part = PartFile(model=model, path=directory / f"part-{len(parts)}.jsonl")
    parts.append(part)
    opened = (part, part.path.open("wb"))
    open_parts[model] = opened
    return opened
