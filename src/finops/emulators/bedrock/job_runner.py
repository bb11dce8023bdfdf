"""A model-invocation job's life: statuses over ``batch_seconds``, input from S3, outputs back to S3.

Timeline for ``T = batch_seconds`` after creation: ``Submitted`` -> ``Validating`` (at 0.1 T: the input
is read and checked) -> ``Scheduled`` (0.2 T) -> ``InProgress`` (0.3 T: records run, spread over the rest
of T) -> ``Completed`` at T, or later when there are more records than the emulated model runs in T.

Validation fails the job (``Failed`` with a ``message``) when the input location has no JSONL, a line is
not a JSON object with an object ``modelInput``, or there are fewer records than the minimum (100 for most
models on Bedrock; ``JobSettings.min_records``), worded as Bedrock does: ``Batch job contains less records
(3) than the required minimum of: 100``. A record the model refuses is not a job failure: it comes back
with an ``error`` object, and the job still completes.

Outputs, as Bedrock writes them under the output URI: ``<job id>/<input file name>.out`` per input file (one
line per record, input order: ``{"recordId", "modelInput", "modelOutput"}`` or ``{..., "error":
{"errorCode", "errorMessage"}}``) and ``<job id>/manifest.json.out`` (record and token counts). A stopped
job writes what it processed before the stop; a job stopped before ``InProgress`` writes nothing.

Test hooks (the records travel through a gateway, so the hook is in the data, like the runtime's
``[emulate:throttlingException]``): a record containing ``[emulate:jobTimeout]`` makes the job run out of
time at that record (``PartiallyCompleted``, later records unprocessed); one containing
``[emulate:jobExpired]`` makes it expire while ``Scheduled`` (``Expired``, nothing written).

Records run in a worker thread, streamed from and to disk: a 100,000-record job never holds its input or
output in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import string
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from finops.emulators.bedrock.models import Model
from finops.emulators.bedrock.records import InvocationType, RecordResult, run_record
from finops.emulators.bedrock.s3_store import ObjectStore, StoredObject
from finops.emulators.bedrock.s3_xml import S3Error

TERMINAL = frozenset({"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"})
STOPPABLE = frozenset({"Submitted", "Validating", "Scheduled", "InProgress"})
_TIMEOUT_MARKER = b"[emulate:jobTimeout]"
_EXPIRED_MARKER = b"[emulate:jobExpired]"
_RECORD_ID_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class JobSettings:
    batch_seconds: float = 5.0
    min_records: int = 100
    account_id: str = "123456789012"


@dataclass
class Job:
    job_id: str
    arn: str
    name: str
    model: Model
    model_id: str
    role_arn: str
    client_request_token: str | None
    input_config: dict[str, Any]
    output_config: dict[str, Any]
    timeout_hours: int
    tags: list[dict[str, str]]
    invocation_type: InvocationType
    vpc_config: dict[str, Any] | None = None
    status: str = "Submitted"
    message: str | None = None
    submit_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    end_time: datetime | None = None
    total: int | None = None
    processed: int | None = None
    succeeded: int | None = None
    errored: int | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def expiration_time(self) -> datetime:
        return self.submit_time + timedelta(hours=self.timeout_hours)

    def move(self, status: str, message: str | None = None) -> None:
        self.status = status
        self.last_modified = datetime.now(UTC)
        if message is not None:
            self.message = message
        if status in TERMINAL:
            self.end_time = self.last_modified


def new_job_id() -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(12))


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


class JobFailed(Exception):
    """Validation found the job cannot run; the message becomes the job's."""


@dataclass
class _Input:
    key: str
    stored: StoredObject
    records: int


@dataclass
class _Totals:
    processed: int = 0
    succeeded: int = 0
    errored: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


class JobRunner:
    """Drives every job of one emulator; ``shutdown`` stops them all (their threads finish the current record)."""

    def __init__(self, store: ObjectStore, settings: JobSettings) -> None:
        self.store = store
        self.settings = settings
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bedrock-batch")
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, job: Job) -> None:
        task = asyncio.get_running_loop().create_task(self._run(job), name=f"bedrock-job-{job.job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._executor.shutdown(wait=True, cancel_futures=True)

    async def _run(self, job: Job) -> None:
        period = self.settings.batch_seconds
        started = time.monotonic()
        try:
            if not await self._phase(job, "Validating", started + 0.1 * period):
                return
            try:
                inputs, expired = await self._in_thread(self._validate, job)
            except JobFailed as failure:
                job.move("Stopped" if job.stop.is_set() else "Failed", None if job.stop.is_set() else str(failure))
                return
            job.total = sum(found.records for found in inputs)
            if not await self._phase(job, "Scheduled", started + 0.2 * period):
                return
            if expired:
                await self._phase(job, "Scheduled", started + 0.3 * period)
                if job.status == "Scheduled":
                    job.move("Expired", "The job expired before it could start.")
                return
            if not await self._phase(job, "InProgress", started + 0.3 * period):
                return
            job.processed = job.succeeded = job.errored = 0
            timed_out = await self._in_thread(self._process, job, inputs, started + period)
            if job.status == "Stopping":
                job.move("Stopped")
            elif timed_out:
                job.move("PartiallyCompleted", "The job ran out of time before all records were processed.")
            else:
                job.move("Completed")
        except asyncio.CancelledError:
            job.stop.set()
            raise
        except Exception as exc:  # an emulator bug fails the job visibly rather than leaving it running forever
            job.move("Failed", f"Internal emulator error: {type(exc).__name__}: {exc}")

    async def _phase(self, job: Job, status: str, at: float) -> bool:
        """Wait until ``at`` (or a stop), then move to ``status``; False when the job was stopped instead."""
        while time.monotonic() < at and not job.stop.is_set():
            await asyncio.sleep(min(0.02, max(0.0, at - time.monotonic())))
        if job.stop.is_set():
            job.move("Stopped")
            return False
        if job.status != status:
            job.move(status)
        return True

    async def _in_thread(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    # --- worker-thread side ---------------------------------------------------------------------------

    def _validate(self, job: Job) -> tuple[list[_Input], bool]:
        uri = job.input_config["s3InputDataConfig"]["s3Uri"]
        bucket, key = split_s3_uri(uri)
        if not self.store.has_bucket(bucket):
            raise JobFailed(f"Unable to access the input S3 location {uri}: the bucket {bucket} does not exist.")
        try:
            objects = [self.store.get(bucket, key)] if key and not key.endswith("/") else []
        except S3Error:
            objects = []
        if not objects:
            folder = key if not key or key.endswith("/") else key + "/"
            objects = [self.store.get(bucket, name) for name in self.store.bucket(bucket).keys_after("", folder)]
            objects = [found for found in objects if found.key.endswith(".jsonl")]
        if not objects:
            raise JobFailed(f"No JSONL input was found at {uri}.")
        out_bucket, _ = split_s3_uri(job.output_config["s3OutputDataConfig"]["s3Uri"])
        if not self.store.has_bucket(out_bucket):
            raise JobFailed(f"Unable to access the output S3 location: the bucket {out_bucket} does not exist.")
        inputs: list[_Input] = []
        expired = False
        for stored in objects:
            count = 0
            for number, line in enumerate(_lines(self.store, stored), start=1):
                if not line.strip():
                    continue
                _parse_record(line, stored.key, number)
                expired = expired or _EXPIRED_MARKER in line
                count += 1
            inputs.append(_Input(stored.key, stored, count))
        total = sum(found.records for found in inputs)
        if total < self.settings.min_records:
            raise JobFailed(
                f"Batch job contains less records ({total}) than the required minimum of: {self.settings.min_records}"
            )
        return inputs, expired

    def _process(self, job: Job, inputs: list[_Input], deadline: float) -> bool:
        """Run every record, writing each input's ``.out``; True when a timeout hook cut the job short."""
        out_bucket, out_prefix = split_s3_uri(job.output_config["s3OutputDataConfig"]["s3Uri"])
        folder = f"{out_prefix.rstrip('/')}/{job.job_id}/" if out_prefix.strip("/") else f"{job.job_id}/"
        totals = _Totals()
        total = job.total or 1
        window_start = time.monotonic()
        timed_out = False
        for found in inputs:
            if job.stop.is_set() or timed_out:
                break
            writer = self.store.new_blob()
            md5 = hashlib.md5(usedforsecurity=False)
            try:
                for line in _lines(self.store, found.stored):
                    if not line.strip():
                        continue
                    if job.stop.is_set():
                        break
                    if _TIMEOUT_MARKER in line:
                        timed_out = True
                        break
                    record_id, model_input = _parse_record(line, found.key, 0)
                    result = run_record(job.model, job.invocation_type, model_input)
                    encoded = _output_line(record_id, model_input, result)
                    writer.write(encoded)
                    md5.update(encoded)
                    _count(totals, result)
                    job.processed, job.succeeded, job.errored = totals.processed, totals.succeeded, totals.errored
                    _pace(job, window_start, deadline, totals.processed, total)
                segment = writer.commit()
            except BaseException:
                writer.abort()
                raise
            name = found.key.rsplit("/", 1)[-1]
            self.store.put(
                out_bucket,
                StoredObject(f"{folder}{name}.out", (segment,), f'"{md5.hexdigest()}"', "binary/octet-stream", {}),
            )
        manifest = {
            "totalRecordCount": job.total or 0,
            "processedRecordCount": totals.processed,
            "successRecordCount": totals.succeeded,
            "errorRecordCount": totals.errored,
            "inputTokenCount": totals.input_tokens,
            "outputTokenCount": totals.output_tokens,
        }
        writer = self.store.new_blob()
        body = orjson.dumps(manifest)
        writer.write(body)
        etag = f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'
        self.store.put(
            out_bucket, StoredObject(f"{folder}manifest.json.out", (writer.commit(),), etag, "binary/octet-stream", {})
        )
        return timed_out


def _lines(store: ObjectStore, stored: StoredObject) -> Iterator[bytes]:
    """The object's lines (without line ends), read in chunks."""
    pending = b""
    with store.reading(stored):
        for chunk in stored.read(0, stored.size - 1):
            pending += chunk
            *complete, pending = pending.split(b"\n")
            yield from complete
    if pending:
        yield pending


def _parse_record(line: bytes, key: str, number: int) -> tuple[str, Any]:
    where = f" (line {number} of {key})" if number else ""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise JobFailed(f"The input file contains a line that is not valid JSON{where}.") from None
    if not isinstance(record, dict) or not isinstance(record.get("modelInput"), dict):
        raise JobFailed(f"Each input record must be a JSON object with a modelInput object{where}.")
    record_id = record.get("recordId")
    if record_id is not None and not isinstance(record_id, str):
        raise JobFailed(f"recordId must be a string{where}.")
    if not record_id:
        # Bedrock names records it was not given an ID for: 11 upper-case letters and digits.
        record_id = "".join(secrets.choice(_RECORD_ID_ALPHABET) for _ in range(11))
    return record_id, record["modelInput"]


def _output_line(record_id: str, model_input: Any, result: RecordResult) -> bytes:
    line: dict[str, Any] = {"recordId": record_id, "modelInput": model_input}
    if result.output is not None:
        line["modelOutput"] = result.output
    else:
        line["error"] = result.error
    return orjson.dumps(line) + b"\n"


def _count(totals: _Totals, result: RecordResult) -> None:
    totals.processed += 1
    if result.output is not None:
        totals.succeeded += 1
        totals.input_tokens += result.input_tokens
        totals.output_tokens += result.output_tokens
    else:
        totals.errored += 1


def _pace(job: Job, window_start: float, deadline: float, done: int, total: int) -> None:
    """Spread records over the InProgress window, so a poller sees counts grow and a stop lands mid-job."""
    due = window_start + (deadline - window_start) * done / total
    while not job.stop.is_set():
        wait = due - time.monotonic()
        if wait <= 0:
            return
        time.sleep(min(wait, 0.02))
