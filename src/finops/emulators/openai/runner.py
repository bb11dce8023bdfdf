"""Runs one batch in the background: validating -> in_progress -> finalizing -> completed.

It ends ``failed`` when the input file does not validate and ``cancelled`` after a cancel.

Timeline for ``batch_seconds = T``: validating for 0.1 T, then the requests finish one by one, evenly spread
over 0.8 T, then finalizing for 0.1 T. A cancel stops taking new requests at once, and the batch becomes
``cancelled`` 0.1 T later with the requests already finished in its output and error files. So a cancel
half-way through leaves about half the requests done.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import IO, Any

import orjson

from finops.emulators.openai import jsonl
from finops.emulators.openai.completion import complete, random_id, to_response
from finops.emulators.openai.errors import OpenAIError
from finops.emulators.openai.state import BatchRecord, EmulatorState, StoredFile, new_file_id, new_request_id

_VALIDATING_SHARE = 0.1
_RUNNING_SHARE = 0.8
_FINALIZING_SHARE = 0.1
_MAX_TICK = 0.05  # seconds between progress updates while requests run
_OUTPUT_TTL = 30 * 24 * 3600


def _now() -> int:
    return int(time.time())


async def _pause(batch: BatchRecord, seconds: float) -> bool:
    """Sleep ``seconds`` unless a cancel arrives first; True if the batch was cancelled."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(batch.cancel_requested.wait(), timeout=max(seconds, 0.0))
    return batch.cancel_requested.is_set()


async def run_batch(state: EmulatorState, batch: BatchRecord) -> None:
    seconds = state.batch_seconds
    input_file = state.files.get(batch.input_file_id)
    if await _pause(batch, seconds * _VALIDATING_SHARE):
        await _cancel(state, batch, None)
        return
    if input_file is None:
        _fail(
            batch,
            [jsonl.LineError("file_not_found", None, "The input file was deleted before the batch ran.")],
        )
        return
    validation = await asyncio.to_thread(jsonl.validate_for_batch, input_file.path, batch.endpoint)
    if validation.errors:
        _fail(batch, validation.errors)
        return
    batch.status, batch.in_progress_at = "in_progress", _now()
    batch.total, batch.model = validation.total, validation.model
    writer = _ResultWriter(state)
    try:
        cancelled = await _run_requests(state, batch, input_file.path, writer)
        if cancelled:
            await _cancel(state, batch, writer)
            return
        batch.status, batch.finalizing_at = "finalizing", _now()
        if await _pause(batch, seconds * _FINALIZING_SHARE):
            await _cancel(state, batch, writer)
            return
        writer.publish(batch)
        batch.status, batch.completed_at = "completed", _now()
    finally:
        writer.discard()


async def _run_requests(state: EmulatorState, batch: BatchRecord, path: Path, writer: _ResultWriter) -> bool:
    """Finish request i at ``(i + 1) / N`` of the running window; True if a cancel stopped the run."""
    span = state.batch_seconds * _RUNNING_SHARE
    lines = jsonl.iter_lines(path)
    started = time.monotonic()
    done = 0
    try:
        while done < batch.total:
            elapsed = time.monotonic() - started
            due = batch.total if span <= 0 else min(batch.total, int(elapsed / span * batch.total))
            while done < due:
                _, raw = next(lines)
                _run_one(state, batch, raw, writer)
                done += 1
            if done >= batch.total:
                break
            next_due = (done + 1) / batch.total * span
            if await _pause(batch, min(_MAX_TICK, next_due - elapsed)):
                return True
    finally:
        lines.close()
    return batch.cancel_requested.is_set()


def _run_one(state: EmulatorState, batch: BatchRecord, raw: bytes, writer: _ResultWriter) -> None:
    item = orjson.loads(raw)  # already validated
    request_id = new_request_id()
    try:
        completion = complete(item["body"], now=_now(), cache=state.prompt_cache)
    except OpenAIError as error:
        response = {"status_code": error.status, "request_id": request_id, "body": error.body()}
        writer.write(False, {"id": random_id("batch_req_", 32), "custom_id": item["custom_id"], "response": response})
        batch.failed += 1
        return
    response = {"status_code": 200, "request_id": request_id, "body": to_response(completion)}
    writer.write(True, {"id": random_id("batch_req_", 32), "custom_id": item["custom_id"], "response": response})
    batch.completed += 1
    batch.input_tokens += completion.prompt_tokens
    batch.cached_tokens += completion.cached_tokens
    batch.output_tokens += completion.completion_tokens


def _fail(batch: BatchRecord, errors: list[jsonl.LineError]) -> None:
    batch.errors = [error.to_object() for error in errors]
    batch.status, batch.failed_at = "failed", _now()


async def _cancel(state: EmulatorState, batch: BatchRecord, writer: _ResultWriter | None) -> None:
    # The cancel endpoint already moved the batch to ``cancelling``; finish the move a moment later.
    await asyncio.sleep(state.batch_seconds * _FINALIZING_SHARE)
    if writer is not None:
        writer.publish(batch)
    batch.status, batch.cancelled_at = "cancelled", _now()


class _ResultWriter:
    """Appends result lines to two files on disk; ``publish`` stores the non-empty ones as batch output."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.paths = {True: state.new_blob_path(), False: state.new_blob_path()}
        self.handles: dict[bool, IO[bytes]] = {ok: path.open("wb") for ok, path in self.paths.items()}
        self.sizes = {True: 0, False: 0}
        self.published: set[bool] = set()

    def write(self, ok: bool, line: dict[str, Any]) -> None:
        line["error"] = None  # HTTP-level failures live in response; error is for non-HTTP failures
        data = orjson.dumps(line) + b"\n"
        self.handles[ok].write(data)
        self.sizes[ok] += len(data)

    def publish(self, batch: BatchRecord) -> None:
        for handle in self.handles.values():
            handle.close()
        created = _now()
        for ok, suffix in ((True, "output"), (False, "error")):
            if not self.sizes[ok]:
                continue
            stored = self.state.add_file(
                StoredFile(
                    id=new_file_id(),
                    filename=f"{batch.id}_{suffix}.jsonl",
                    purpose="batch_output",
                    bytes=self.sizes[ok],
                    created_at=created,
                    expires_at=created + _OUTPUT_TTL,
                    path=self.paths[ok],
                )
            )
            self.published.add(ok)  # the stored file owns these bytes now
            if ok:
                batch.output_file_id = stored.id
            else:
                batch.error_file_id = stored.id

    def discard(self) -> None:
        """Close and remove whatever was not published (a crash or a shutdown mid-run)."""
        for ok, handle in self.handles.items():
            handle.close()
            if ok not in self.published:
                self.paths[ok].unlink(missing_ok=True)
