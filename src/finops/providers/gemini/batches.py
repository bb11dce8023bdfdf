"""Message Batches on Gemini's ``batchGenerateContent``: one gateway batch, one upstream batch per model.

A Gemini batch names its model in the URL, so a batch that mixes models is split into *parts*, one per model,
all behind the single gateway batch. ``UpstreamBatch.state`` keeps ``{"parts": [{model, name, custom_ids,
input_file}]}``: the custom_ids in input order are what positional matching of results falls back on.

Each part goes inline (``metadata.key = custom_id``) while its payload stays under
``batch_lines.INLINE_BATCH_LIMIT_BYTES``; larger parts are written to a JSONL file on disk, uploaded with the
resumable protocol and referenced as ``inputConfig.fileName``. Every request is translated before anything is
sent, so a request Gemini cannot express refuses the whole batch without an upstream call.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import httpx
import orjson

from finops.core.cleanup import quietly
from finops.core.errors import InvalidRequestError, NotFoundError, UpstreamError
from finops.core.release import GilPacer
from finops.core.types import JSON
from finops.providers.base import BatchRef, BatchStatus, UpstreamBatch
from finops.providers.gemini import batch_lines
from finops.providers.gemini.batch_lines import (
    ResultMatcher,
    from_batch_response_entry,
    group_by_model,
    map_batch_state,
    missing_result,
    request_counts_from_stats,
    to_file_batch_line,
)
from finops.providers.gemini.paths import model_path

_COUNT_KEYS = ("processing", "succeeded", "errored", "canceled", "expired")
# Bytes around the inline entries in a create body ({"batch": {..., "inputConfig": {"requests": ...}}}).
_ENVELOPE_BYTES = 1024


class Upstream(Protocol):
    """What batch orchestration needs from the adapter (its HTTP plumbing, auth and error mapping)."""

    name: str

    async def call(self, method: str, path: str, *, content: bytes | None = None) -> JSON: ...
    async def open(self, method: str, path: str, *, params: dict[str, str] | None = None) -> httpx.Response: ...
    async def upload(self, file: BinaryIO, size: int, mime_type: str, display_name: str) -> JSON: ...
    def lines(self, response: httpx.Response) -> AsyncIterator[str]: ...


@dataclass
class _Part:
    """One model's share of a batch, translated and ready to send: inline (``body``) or as a JSONL file."""

    model: str
    custom_ids: list[str] = field(default_factory=list)
    body: bytes | None = None
    """The whole ``batchGenerateContent`` body when the part goes inline."""
    input_path: Path | None = None
    """The JSONL input file on disk when it does not."""
    input_size: int = 0


def _create_body(label: str, model: str, input_config: bytes) -> bytes:
    return (
        b'{"batch":{"displayName":'
        + orjson.dumps(f"{label}-{model}"[:128])
        + b',"model":'
        + orjson.dumps(f"models/{model}")
        + b',"inputConfig":'
        + input_config
        + b"}}"
    )


def _plan(requests: list[JSON], directory: Path, label: str) -> list[_Part]:
    """Translate every request (raising before any upstream call) and lay each model's part out: every request
    is translated once and its JSONL line written straight to disk, as the OpenAI adapter does; the inline
    entries are kept in memory only while the part still fits Gemini's inline limit.

    Runs in a worker thread: translating 100,000 requests is seconds of CPU that must not stall the event loop.
    """
    limit = batch_lines.INLINE_BATCH_LIMIT_BYTES  # read at call time: the one place the limit lives
    pacer = GilPacer()  # the event loop gets the GIL now and then
    parts: list[_Part] = []
    for model, group in group_by_model(requests).items():
        path = directory / f"part-{len(parts)}.jsonl"
        part = _Part(model=model, input_path=path)
        entries: list[bytes] | None = []
        inline_size = _ENVELOPE_BYTES
        with path.open("wb") as spool:
            for _, custom_id, params in group:
                key = orjson.dumps(custom_id)
                # The same bytes orjson writes for to_file_batch_line / to_inline_batch_request, with the request
                # translated and serialised once for both.
                request = orjson.dumps(to_file_batch_line(custom_id, params)["request"])
                line = b'{"key":' + key + b',"request":' + request + b"}\n"
                spool.write(line)
                pacer.step()
                part.input_size += len(line)
                part.custom_ids.append(custom_id)
                if entries is not None:
                    entry = b'{"request":' + request + b',"metadata":{"key":' + key + b"}}"
                    inline_size += len(entry) + 1
                    if inline_size <= limit:
                        entries.append(entry)
                    else:
                        entries = None  # past the limit: the part goes as the file being written
        if entries is not None:
            part.body = _create_body(label, model, b'{"requests":{"requests":[' + b",".join(entries) + b"]}}")
            path.unlink()
            part.input_path = None
        parts.append(part)
    return parts


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


def _metadata(operation: JSON) -> JSON:
    """The GenerateContentBatch inside an Operation (``metadata``), or the resource itself if bare."""
    metadata = operation.get("metadata")
    return metadata if isinstance(metadata, dict) else operation


def _output(operation: JSON) -> JSON:
    output = _metadata(operation).get("output") or operation.get("response") or {}
    return output if isinstance(output, dict) else {}


def _inlined(output: JSON) -> list[Any] | None:
    inlined = (output.get("inlinedResponses") or {}).get("inlinedResponses")
    return inlined if isinstance(inlined, list) else None


def _counts_from_results(entries: list[Any], custom_ids: list[str], state: str) -> dict[str, int]:
    """Exact counts of an ended part whose results came inline, classified as ``results`` will: batchStats
    counts a request stopped by a cancel as failed, which Anthropic calls ``canceled``."""
    counts = dict.fromkeys(_COUNT_KEYS, 0)
    matcher = ResultMatcher(custom_ids)
    for position, entry in enumerate(entries):
        if isinstance(entry, dict) and (custom_id := matcher.match(position, entry)) is not None:
            line = from_batch_response_entry(entry, custom_id=custom_id, model="", batch_state=state)
            counts[line["result"]["type"]] += 1
    for custom_id in matcher.unmatched():
        counts[missing_result(custom_id, state)["result"]["type"]] += 1
    return counts


def _part_status(
    operation: JSON, custom_ids: list[str], cancel_requested: bool
) -> tuple[str, dict[str, int], datetime | None]:
    metadata = _metadata(operation)
    state = metadata.get("state")
    status = map_batch_state(state, cancel_requested=cancel_requested)
    inlined = _inlined(_output(operation)) if status == "ended" else None
    if inlined is not None:
        counts = _counts_from_results(inlined, custom_ids, str(state))
    else:
        counts = request_counts_from_stats(metadata.get("batchStats"), total=len(custom_ids), state=state)
    return status, counts, _time(metadata.get("endTime")) if status == "ended" else None


def _merge(statuses: list[tuple[str, dict[str, int], datetime | None]]) -> BatchStatus:
    """One Anthropic status for all parts: ended once every part has; counts summed (each part's sum to its
    size, so the total sums to the request count at every moment)."""
    counts = {key: sum(part[1].get(key, 0) for part in statuses) for key in _COUNT_KEYS}
    kinds = {part[0] for part in statuses}
    if kinds == {"ended"}:
        ended = [part[2] for part in statuses if part[2] is not None]
        return BatchStatus("ended", counts, ended_at=max(ended) if ended else None)
    return BatchStatus("canceling" if "canceling" in kinds else "in_progress", counts)


def _parts_of(ref: BatchRef) -> list[JSON]:
    parts = ref.state.get("parts")
    if not isinstance(parts, list) or not parts:
        raise UpstreamError("this Gemini batch has no upstream parts recorded")
    return parts


class GeminiBatches:
    def __init__(self, upstream: Upstream, api: str) -> None:
        self._upstream = upstream
        self._api = api

    # -- create -------------------------------------------------------------------------------------------

    async def create(self, requests: list[JSON], key: str | None = None) -> UpstreamBatch:
        # Every part's name starts with the intent's key: recovery finds them by it (``recovery.py``).
        label = key or f"finops-{secrets.token_hex(6)}"
        created: list[tuple[JSON, JSON]] = []  # (state part, operation)
        # The pid in the name lets the recovery pass remove the spool of a process killed mid-create.
        with tempfile.TemporaryDirectory(prefix=f"finops-gemini-batch-{os.getpid()}-") as directory:
            parts = await asyncio.to_thread(_plan, requests, Path(directory), label)
            try:
                for part in parts:
                    created.append(await self._create_part(part, label))
            except BaseException:
                # All parts or none: a half-created batch would run (and bill) requests nobody can see.
                await asyncio.gather(*(self._abandon(state) for state, _ in created), return_exceptions=True)
                raise
        state = {"parts": [part_state for part_state, _ in created]}
        statuses = [_part_status(operation, part_state["custom_ids"], False) for part_state, operation in created]
        return UpstreamBatch(upstream_id=created[0][1].get("name", ""), state=state, status=_merge(statuses))

    async def _create_part(self, part: _Part, label: str) -> tuple[JSON, JSON]:
        input_file = None
        body = part.body
        if body is None:
            input_file = await self._upload_input(part, label)
            body = _create_body(label, part.model, orjson.dumps({"fileName": input_file}))
        part.body = None  # up to the inline limit: not held past the call
        try:
            operation = await self._upstream.call(
                "POST", f"{self._api}/models/{model_path(part.model)}:batchGenerateContent", content=body
            )
        except BaseException:
            if input_file:
                await quietly(self._upstream.call("DELETE", f"{self._api}/{input_file}"))
            raise
        name = operation.get("name")
        if not isinstance(name, str) or not name.startswith("batches/"):
            raise UpstreamError(f"the {self._upstream.name} upstream answered a batch without a name")
        state = {"model": part.model, "name": name, "custom_ids": part.custom_ids, "input_file": input_file}
        return state, operation

    async def _upload_input(self, part: _Part, label: str) -> str:
        """Upload the part's JSONL file (written by ``_plan``); returns its ``files/...`` name."""
        assert part.input_path is not None
        with part.input_path.open("rb") as spool:
            display_name = f"{label}-{part.model}.jsonl"
            uploaded = await self._upstream.upload(spool, part.input_size, "application/jsonl", display_name)
        name = uploaded.get("name")
        if not isinstance(name, str) or not name.startswith("files/"):
            raise UpstreamError(f"the {self._upstream.name} upstream answered an upload without a name")
        return name

    async def _abandon(self, part: JSON) -> None:
        await quietly(self._upstream.call("POST", f"{self._api}/{part['name']}:cancel"))
        await quietly(self._upstream.call("DELETE", f"{self._api}/{part['name']}"))
        if part.get("input_file"):
            await quietly(self._upstream.call("DELETE", f"{self._api}/{part['input_file']}"))

    # -- status, cancel, delete -----------------------------------------------------------------------------

    async def _operations(self, parts: list[JSON]) -> list[JSON]:
        return list(await asyncio.gather(*(self._upstream.call("GET", f"{self._api}/{p['name']}") for p in parts)))

    async def status(self, ref: BatchRef) -> BatchStatus:
        parts = _parts_of(ref)
        operations = await self._operations(parts)
        return _merge(
            [
                _part_status(operation, part["custom_ids"], ref.cancel_requested)
                for part, operation in zip(parts, operations, strict=True)
            ]
        )

    async def cancel(self, ref: BatchRef) -> BatchStatus:
        parts = _parts_of(ref)

        async def cancel_part(part: JSON) -> None:
            # FAILED_PRECONDITION (400): that part had already ended, which is what cancel wants anyway.
            with contextlib.suppress(InvalidRequestError):
                await self._upstream.call("POST", f"{self._api}/{part['name']}:cancel")

        await asyncio.gather(*(cancel_part(part) for part in parts))
        operations = await self._operations(parts)
        return _merge(
            [
                _part_status(operation, part["custom_ids"], True)
                for part, operation in zip(parts, operations, strict=True)
            ]
        )

    async def delete(self, ref: BatchRef) -> None:
        """Delete every part and its uploaded input file; parts already gone upstream are fine."""
        for part in _parts_of(ref):
            with contextlib.suppress(NotFoundError):
                await self._upstream.call("DELETE", f"{self._api}/{part['name']}")
            if part.get("input_file"):
                with contextlib.suppress(NotFoundError):
                    await self._upstream.call("DELETE", f"{self._api}/{part['input_file']}")

    # -- results --------------------------------------------------------------------------------------------

    async def results(self, ref: BatchRef) -> AsyncIterator[bytes]:
        """Anthropic JSONL, part after part: matched results, then the part's requests without one."""
        for part in _parts_of(ref):
            operation = await self._upstream.call("GET", f"{self._api}/{part['name']}")
            state = str(_metadata(operation).get("state") or "")
            matcher = ResultMatcher(part["custom_ids"])
            async for position, entry in self._entries(_output(operation)):
                custom_id = matcher.match(position, entry)
                if custom_id is not None:
                    line = from_batch_response_entry(entry, custom_id=custom_id, model=part["model"], batch_state=state)
                    yield orjson.dumps(line) + b"\n"
            for custom_id in matcher.unmatched():
                yield orjson.dumps(missing_result(custom_id, state)) + b"\n"

    async def _entries(self, output: JSON) -> AsyncIterator[tuple[int, JSON]]:
        inlined = _inlined(output)
        if inlined is not None:
            for position, entry in enumerate(inlined):
                if isinstance(entry, dict):
                    yield position, entry
            return
        responses_file = output.get("responsesFile")
        if not isinstance(responses_file, str) or not responses_file:
            return
        # The responses file can be far larger than memory: read it line by line as it downloads.
        response = await self._upstream.open("GET", f"{self._api}/{responses_file}:download", params={"alt": "media"})
        position = 0
        async for raw in self._upstream.lines(response):
            if not raw.strip():
                continue
            try:
                entry = orjson.loads(raw)
            except orjson.JSONDecodeError:
                entry = {"error": {"code": 13, "status": "INTERNAL", "message": "unreadable result line"}}
            if isinstance(entry, dict):
                yield position, entry
            position += 1
