"""Batch jobs: per-request outcomes decided at creation, state derived from the clock, output built once.

Timeline over ``duration`` seconds: PENDING for the first 10%, then RUNNING while the requests finish one
by one at even intervals (request ``i`` of ``n`` at 10% + 90% * (i+1)/n), SUCCEEDED at the end. A cancel
freezes the clock: requests finished by then keep their responses, the rest answer a CANCELLED status,
in input order.
Nothing runs in the background; every read evaluates the timeline, so the emulator needs no worker tasks.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from finops.emulators.gemini import generate
from finops.emulators.gemini.errors import GoogleError, invalid
from finops.emulators.gemini.state import FileRecord, Store
from finops.emulators.gemini.wire import now, pick, timestamp

BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"
OUTPUT_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput"
_PENDING_SHARE = 0.1
_CANCELLED = {
    "code": 1,
    "message": "The batch was cancelled before this request was processed.",
    "status": "CANCELLED",
}


@dataclass
class BatchJob:
    id: str
    seq: int
    model: str
    display_name: str
    created: datetime
    duration: float
    api_version: str
    base_url: str
    labels: list[Any]
    """Per request: the inline ``metadata`` (or None), or the JSONL line's ``key``."""
    ok: list[bool]
    input_file: str | None = None
    inline_requests: list[Any] | None = field(default=None, repr=False)
    inline_results: list[dict[str, Any]] | None = None
    results_path: Path | None = None
    cancelled_at: datetime | None = None
    output: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return f"batches/{self.id}"

    @property
    def request_count(self) -> int:
        return len(self.ok)

    def _at(self, fraction: float) -> datetime:
        return self.created + timedelta(seconds=self.duration * fraction)

    @property
    def finish_time(self) -> datetime:
        return self._at(1.0)

    def state(self, moment: datetime) -> str:
        if self.cancelled_at is not None:
            return "BATCH_STATE_CANCELLED"
        if moment >= self.finish_time:
            return "BATCH_STATE_SUCCEEDED"
        if moment >= self._at(_PENDING_SHARE):
            return "BATCH_STATE_RUNNING"
        return "BATCH_STATE_PENDING"

    def done(self, moment: datetime) -> bool:
        return self.state(moment) in ("BATCH_STATE_SUCCEEDED", "BATCH_STATE_CANCELLED")

    def completed(self, moment: datetime) -> int:
        """How many requests (a prefix, in input order) have finished by ``moment``."""
        if self.cancelled_at is not None:
            moment = min(moment, self.cancelled_at)
        if self.duration <= 0 or moment >= self.finish_time:
            return self.request_count
        elapsed = (moment - self.created).total_seconds() / self.duration
        progress = (elapsed - _PENDING_SHARE) / (1 - _PENDING_SHARE)
        return max(0, min(self.request_count, math.floor(progress * self.request_count + 1e-9)))

    def end_time(self) -> datetime:
        return self.cancelled_at or self.finish_time

    def update_time(self, moment: datetime) -> datetime:
        if self.done(moment):
            return self.end_time()
        if moment >= self._at(_PENDING_SHARE):
            return self._at(_PENDING_SHARE)
        return self.created

    def stats(self, moment: datetime) -> dict[str, str]:
        """batchStats as int64 strings; the counts always add up to requestCount."""
        finished = self.completed(moment)
        succeeded = sum(self.ok[:finished])
        failed = finished - succeeded
        pending = self.request_count - finished
        if self.done(moment):
            failed, pending = failed + pending, 0  # cancelled requests end as failed
        return {
            "requestCount": str(self.request_count),
            "successfulRequestCount": str(succeeded),
            "failedRequestCount": str(failed),
            "pendingRequestCount": str(pending),
        }


# ------------------------------------------------------------------ creation


def run_request(request: Any, model: str, store: Store) -> dict[str, Any]:
    """One batch request -> ``{"response": ...}`` or ``{"error": Status}``; never raises."""
    try:
        if not isinstance(request, dict):
            raise invalid("Each batch entry needs a 'request' object (a GenerateContentRequest).")
        requested_model = pick(request, "model")
        if requested_model and str(requested_model).removeprefix("models/") != model:
            raise invalid(f"Request model {requested_model} does not match the batch model models/{model}.")
        return {"response": generate.generate(request, model, store.file_exists_for_uri)}
    except GoogleError as error:
        return {"error": error.as_status()}


def prepare_inline(entries: list[Any], model: str, store: Store) -> tuple[list[Any], list[dict[str, Any]]]:
    labels: list[Any] = []
    results: list[dict[str, Any]] = []
    for entry in entries:
        labels.append(pick(entry, "metadata"))
        results.append(run_request(pick(entry, "request"), model, store))
    return labels, results


def prepare_file(source: Path, target: Path, model: str, store: Store) -> tuple[list[Any], list[bool]]:
    """Stream a JSONL input file into a results file (one ``{key, response|error}`` line per input line)."""
    keys: list[Any] = []
    ok: list[bool] = []
    with source.open("rb") as lines, target.open("wb") as out:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            key: Any = None
            try:
                line = orjson.loads(raw)
            except orjson.JSONDecodeError:
                result: dict[str, Any] = {
                    "error": invalid(f"Line {number} of the input file is not valid JSON.").as_status()
                }
            else:
                key = pick(line, "key") if isinstance(line, dict) else None
                result = run_request(pick(line, "request") if isinstance(line, dict) else None, model, store)
            keys.append(key)
            ok.append("response" in result)
            out.write(orjson.dumps({"key": key, **result} if key is not None else result) + b"\n")
    return keys, ok


# ------------------------------------------------------------------ output


def _output(job: BatchJob, store: Store, moment: datetime) -> dict[str, Any]:
    if job.output is not None:
        return job.output
    finished = job.completed(moment)
    if job.inline_results is not None:
        responses = []
        for index, label in enumerate(job.labels):
            entry = dict(job.inline_results[index]) if index < finished else {"error": dict(_CANCELLED)}
            if label is not None:
                entry["metadata"] = label
            responses.append(entry)
        job.output = {"inlinedResponses": {"inlinedResponses": responses}}
    else:
        job.output = {"responsesFile": _write_responses_file(job, store, finished).name}
    return job.output


def _write_responses_file(job: BatchJob, store: Store, finished: int) -> FileRecord:
    """The GENERATED responses file: finished lines as computed, later lines CANCELLED, input order kept."""
    assert job.results_path is not None
    file_id = f"batch-{job.id}"[:40]
    target = store.blob_path(file_id)
    digest = hashlib.sha256()
    size = 0
    with job.results_path.open("rb") as results, target.open("wb") as out:
        for index, key in enumerate(job.labels):
            line = results.readline()
            if index >= finished:
                cancelled = {"key": key, "error": _CANCELLED} if key is not None else {"error": _CANCELLED}
                line = orjson.dumps(cancelled) + b"\n"
            out.write(line)
            digest.update(line)
            size += len(line)
    job.results_path.unlink(missing_ok=True)
    return store.add_file(
        FileRecord(
            id=file_id,
            seq=store.next_seq(),
            mime_type="application/jsonl",
            size=size,
            sha256=digest.digest(),
            path=target,
            created=now(),
            base_url=job.base_url,
            api_version=job.api_version,
            source="GENERATED",
            display_name=f"{job.name} responses",
        )
    )


def resource(job: BatchJob, store: Store) -> dict[str, Any]:
    """The Operation the API answers: ``{name, metadata: GenerateContentBatch + @type, done?, response?}``."""
    moment = now()
    state = job.state(moment)
    metadata: dict[str, Any] = {
        "@type": BATCH_TYPE,
        "model": f"models/{job.model}",
        "name": job.name,
        "displayName": job.display_name,
        "createTime": timestamp(job.created),
        "updateTime": timestamp(job.update_time(moment)),
        "batchStats": job.stats(moment),
        "state": state,
    }
    # inputConfig is a required field of GenerateContentBatch: echo what the caller sent.
    if job.input_file:
        metadata["inputConfig"] = {"fileName": job.input_file}
    else:
        metadata["inputConfig"] = {"requests": {"requests": job.inline_requests or []}}
    operation: dict[str, Any] = {"name": job.name, "metadata": metadata}
    if job.done(moment):
        output = _output(job, store, moment)
        metadata["endTime"] = timestamp(job.end_time())
        metadata["output"] = output
        operation["done"] = True
        operation["response"] = {"@type": OUTPUT_TYPE, **output}
    return operation
