"""Split an Anthropic batch into OpenAI batch input files, written straight to disk.

OpenAI runs one model per batch and caps an input file at 50,000 requests and 200 MB, while an Anthropic batch
may hold 100,000 requests on any mix of models. Each request is translated once and appended to the JSONL file
of its model (``providers.batch_spool``). Nothing but the caller's own parsed body stays in memory (100,000
translated requests are never held twice).

Runs in a worker thread: translating and serialising a large batch is CPU work that must not stall the loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import orjson

from finops.core.errors import InvalidRequestError
from finops.core.params import MessageParams
from finops.providers.batch_spool import PartSpool, SpooledPart
from finops.providers.openai.batch_lines import to_batch_line

MAX_LINES_PER_FILE = 50_000
"""OpenAI's limit on requests in one batch input file."""
MAX_BYTES_PER_FILE = 190 * 1024 * 1024
"""OpenAI's 200 MB limit, less a margin (the limit is counted by OpenAI, maybe in MiB or MB)."""
MAX_MODELS_PER_BATCH = 16
"""Each model becomes at least one upstream batch; a batch naming more models than this is almost certainly a
mistake (a typo per request?) and would create a storm of upstream batches."""


class PartFile(SpooledPart):
    """One upstream batch to be: its model, its JSONL input file and how many requests it holds."""


def write_batch_parts(requests: list[dict[str, Any]], directory: Path) -> list[PartFile]:
    """Translate ``requests`` (already validated by the core) into per-model JSONL files under ``directory``.

    Parts come out in the order their model first appears. Input the openai provider cannot express raises
    ``InvalidRequestError`` naming the request, before anything was sent anywhere.
    """
    spool = PartSpool(
        directory,
        PartFile,
        max_models=MAX_MODELS_PER_BATCH,
        max_bytes=MAX_BYTES_PER_FILE,
        too_many_models="the openai provider runs one model per upstream batch",
        too_large="an OpenAI batch input file",
    )
    with spool:
        for index, request in enumerate(requests):
            params = request["params"]
            spool.check_model(index, params["model"])
            spool.write(params["model"], _translated_line(index, request["custom_id"], params), MAX_LINES_PER_FILE)
    return spool.parts()


def _translated_line(index: int, custom_id: str, params: dict[str, Any]) -> bytes:
    try:
        # Each request's params were parsed and checked against the field policy by the core.
        return orjson.dumps(to_batch_line(custom_id, cast(MessageParams, params))) + b"\n"
    except InvalidRequestError as exc:
        # The translator names the field; the caller needs to know which of 100,000 requests it is in.
        raise InvalidRequestError(f"requests.{index}.params.{exc.message}") from None
