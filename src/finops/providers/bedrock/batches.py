"""Anthropic message batches on Bedrock batch inference: S3 input, one model-invocation job per model, results
read back from S3 (issue 16).

Layout under ``<s3_prefix>/batches/<intent key>/`` (the key of the create's intent, ``finops.store.intents``,
committed before anything is sent), so everything a batch left in S3 is found, and deleted, by it:

- ``part-<n>.jsonl``: a job's input records (``batch_plan``); the job writes ``out-<n>/<job id>/part-<n>.jsonl.out``
  and ``out-<n>/<job id>/manifest.json.out``;
- a part below Bedrock's minimum records per job, under policy ``run_on_demand``: ``part-<n>.requests.jsonl``,
  ``part-<n>.results.jsonl`` and ``part-<n>.manifest.json`` (``on_demand``).

Job names are ``<intent key>-<the batch ID's random part>-p<n>`` (``finops-`` + 20 + 1 + 24 + 3 characters, within
Bedrock's 63) and the create's client request token is the name, so a retried create makes no second job. A job
whose batch never reached the store (a crash between the create and the row) is found by its intent key and
stopped, and its objects deleted, by the recovery pass (``recovery``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from finops.config import BedrockBatchSettings
from finops.core.errors import GatewayError, InvalidRequestError, NotFoundError
from finops.core.ids import new_batch_id, new_intent_key
from finops.core.types import JSON
from finops.providers.base import BatchRef, BatchStatus, CallContext, UpstreamBatch
from finops.providers.bedrock.batch_plan import PartFile, write_batch_parts
from finops.providers.bedrock.batch_results import part_results
from finops.providers.bedrock.batch_status import ON_DEMAND_DONE, ON_DEMAND_RUNNING, PartState, merge_status
from finops.providers.bedrock.jobs import JobClient
from finops.providers.bedrock.on_demand import CreateMessage, OnDemandRunner
from finops.providers.bedrock.s3 import S3Client

_BATCH_ID_PREFIX = "msgbatch_"
_JOB_TERMINAL = frozenset({"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"})

logger = logging.getLogger("finops.providers")


def job_name(key: str, batch_id: str, number: int) -> str:
    """``key`` is the create's intent key (``finops-...``): recovery finds the job by it."""
    return f"{key}-{batch_id.removeprefix(_BATCH_ID_PREFIX)}-p{number}"


def batch_prefix(s3_prefix: str, key: str) -> str:
    return f"{s3_prefix}/batches/{key}/"


def on_demand_notice(parts: list[JSON], min_records: int) -> str:
    models = ", ".join(sorted({str(part["model"]) for part in parts}))
    return (
        f"Bedrock runs batch jobs of at least {min_records} records per model; the requests for {models} were "
        "fewer, so the gateway ran them itself on on-demand InvokeModel, at the on-demand price "
        "(providers.bedrock.batch.min_records_policy: run_on_demand)"
    )


class BedrockBatches:
    def __init__(
        self, settings: BedrockBatchSettings, s3: S3Client, jobs: JobClient, create_message: CreateMessage
    ) -> None:
        self._settings = settings
        self._s3 = s3
        self._jobs = jobs
        self._on_demand = OnDemandRunner(s3, create_message, settings.on_demand_concurrency)

    async def aclose(self) -> None:
        await self._on_demand.aclose()

    # -- create ---------------------------------------------------------------------------------------

    async def create(self, requests: list[JSON], ctx: CallContext) -> UpstreamBatch:
        batch_id = ctx.batch_id or new_batch_id()
        key = ctx.upstream_key or new_intent_key()
        prefix = batch_prefix(self._settings.s3_prefix, key)
        with tempfile.TemporaryDirectory(prefix="finops-bedrock-batch-") as directory:
            # Translation errors surface here, before any upstream call.
            plan = await asyncio.to_thread(write_batch_parts, requests, Path(directory))
            small = [part for part in plan if part.count < self._settings.min_records]
            if small and self._settings.min_records_policy == "refuse":
                first = small[0]
                raise InvalidRequestError(
                    f"Bedrock batch inference needs at least {self._settings.min_records} requests per model in a "
                    f"job; this batch has {first.count} for {first.model}. Send at least "
                    f"{self._settings.min_records} requests per model, or use the Messages API for these "
                    "(this gateway's providers.bedrock.batch.min_records_policy is refuse)"
                )
            parts: list[JSON] = []
            try:
                for number, part_file in enumerate(plan, start=1):
                    if part_file.count < self._settings.min_records:
                        part = await self._start_on_demand(prefix, number, part_file, requests)
                    else:
                        part = await self._start_job(job_name(key, batch_id, number), prefix, number, part_file)
                    parts.append(part)
            except BaseException:
                # All or nothing: parts already running would cost money for a batch the caller never got.
                await self._abandon(parts, prefix)
                raise
        on_demand = [part for part in parts if part["mode"] == "on_demand"]
        for part in on_demand:
            self._on_demand.start(part)
        notices = [on_demand_notice(on_demand, self._settings.min_records)] if on_demand else []
        state: JSON = {"prefix": prefix, "parts": parts, "notices": notices}
        upstream_id = next((part["job_arn"] for part in parts if part["mode"] == "job"), f"s3://{prefix}")
        status = merge_status([int(p["count"]) for p in parts], [self._initial(p) for p in parts], False)
        return UpstreamBatch(upstream_id=upstream_id, state=state, status=status)

    @staticmethod
    def _initial(part: JSON) -> PartState:
        return PartState("Submitted" if part["mode"] == "job" else ON_DEMAND_RUNNING)

    async def _start_job(self, name: str, prefix: str, number: int, part_file: PartFile) -> JSON:
        input_key = f"{prefix}part-{number}.jsonl"
        with part_file.path.open("rb") as handle:
            await self._s3.upload(input_key, handle, part_file.size, "application/jsonl")
        arn = await self._jobs.create(
            name=name,
            model_id=part_file.model,
            role_arn=self._settings.role_arn,
            input_uri=self._s3.uri(input_key),
            output_uri=self._s3.uri(f"{prefix}out-{number}/"),
            token=name,
            invocation_type=part_file.invocation,
        )
        part: JSON = {
            "n": number,
            "mode": "job",
            "model": part_file.model,
            "count": part_file.count,
            "job_arn": arn,
            "job_name": name,
            "input_key": input_key,
            "output_prefix": f"{prefix}out-{number}/{arn.rsplit('/', 1)[-1]}/",
        }
        if part_file.shapes:
            part["shapes"] = part_file.shapes
        return part

    async def _start_on_demand(self, prefix: str, number: int, part_file: PartFile, requests: list[JSON]) -> JSON:
        lines = b"".join(
            orjson.dumps({"custom_id": request["custom_id"], "params": request["params"]}) + b"\n"
            for request in requests
            if request["params"]["model"] == part_file.model
        )
        input_key = f"{prefix}part-{number}.requests.jsonl"
        await self._s3.put(input_key, lines, "application/jsonl")
        # The first heartbeat before the answer: another process asked about the batch at once must not start it too.
        await self._on_demand.beat({"input_key": input_key})
        return {
            "n": number,
            "mode": "on_demand",
            "model": part_file.model,
            "count": part_file.count,
            "input_key": input_key,
            "results_key": f"{prefix}part-{number}.results.jsonl",
            "manifest_key": f"{prefix}part-{number}.manifest.json",
        }

    async def _abandon(self, parts: list[JSON], prefix: str) -> None:
        for part in parts:
            if part["mode"] == "job":
                with contextlib.suppress(GatewayError):
                    await self._jobs.stop(part["job_arn"])
            else:
                with contextlib.suppress(GatewayError):
                    await self._on_demand.stop(part)
        with contextlib.suppress(GatewayError):
            await self._s3.delete_prefix(prefix)

    # -- status ---------------------------------------------------------------------------------------

    async def _manifest(self, key: str) -> JSON | None:
        if await self._s3.head(key) is None:
            return None
        body = await self._s3.read(key, 1024 * 1024)
        found = orjson.loads(body)
        return found if isinstance(found, dict) else None

    async def _part_state(self, part: JSON, cancel_requested: bool) -> PartState:
        if part["mode"] == "on_demand":
            manifest = await self._manifest(part["manifest_key"])
            if manifest is None:
                if await self._s3.head(part["input_key"]) is None:
                    raise NotFoundError("this batch's requests are no longer in S3")
                if not self._on_demand.running(part) and not await self._on_demand.running_elsewhere(part):
                    self._on_demand.start(part, cancel_requested)  # resumes a part whose runner died
                return PartState(ON_DEMAND_RUNNING)
            stopped = int(manifest.get("canceledRecordCount") or 0) > 0
            return PartState("Stopped" if stopped else ON_DEMAND_DONE, manifest)
        job = await self._jobs.get(part["job_arn"])
        status = str(job.get("status") or "Submitted")
        manifest = None
        if status in _JOB_TERMINAL and status != "Failed":
            manifest = await self._manifest(f"{part['output_prefix']}manifest.json.out")
        return PartState(status, manifest, _parse_time(job.get("endTime")), job.get("message"))

    async def _states(self, parts: list[JSON], cancel_requested: bool) -> list[PartState]:
        return list(await asyncio.gather(*(self._part_state(part, cancel_requested) for part in parts)))

    async def get(self, ref: BatchRef) -> BatchStatus:
        parts = ref.state["parts"]
        states = await self._states(parts, ref.cancel_requested)
        return merge_status([int(p["count"]) for p in parts], states, ref.cancel_requested)

    async def cancel(self, ref: BatchRef) -> BatchStatus:
        parts = ref.state["parts"]
        for part in parts:
            if part["mode"] == "on_demand":
                await self._on_demand.stop(part)
                continue
            # A job that already ended cannot be stopped (ValidationException): its status is the answer.
            with contextlib.suppress(InvalidRequestError):
                await self._jobs.stop(part["job_arn"])
        states = await self._states(parts, True)
        return merge_status([int(p["count"]) for p in parts], states, True)

    async def delete(self, ref: BatchRef) -> None:
        await self._s3.delete_prefix(ref.state["prefix"])

    async def results(self, ref: BatchRef) -> AsyncIterator[bytes]:
        parts = ref.state["parts"]
        states = await self._states(parts, ref.cancel_requested)
        for part, state in zip(parts, states, strict=True):
            if part["mode"] == "on_demand":
                async for line in self._s3.lines(part["results_key"]):
                    if line.strip():
                        yield line.encode() + b"\n"
                continue
            outputs = [
                found.key async for found in self._s3.list(part["output_prefix"]) if found.key.endswith(".jsonl.out")
            ]
            async for result in part_results(part, state, ref.cancel_requested, outputs, self._s3.lines):
                yield result


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None
