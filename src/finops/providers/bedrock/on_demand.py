"""A batch part below Bedrock's minimum records per job, run by the gateway itself on on-demand calls.

Policy ``run_on_demand`` (``providers.bedrock.batch.min_records_policy``): the part's Anthropic requests are kept
in S3 (``<part>.requests.jsonl``), each goes through the same ``create_message`` a live call takes, at most
``on_demand_concurrency`` at a time, and its Anthropic result line is written to ``<part>.results.jsonl``; the
counts go last, to ``<part>.manifest.json``, which is what says the part has ended. Messages carry
``usage.service_tier: standard``: they are priced at the on-demand price, not the batch one.

The run belongs to the process that started it, which keeps ``<part>.running`` fresh in S3 (every
``HEARTBEAT_SECONDS``, naming itself: ``finops.core.processes``) and reads ``<part>.cancel`` there, so a cancel
received by another process (``--workers``, another host) reaches it. A process that finds a part with no manifest
and no run of its own starts it again from its stored requests when its runner died: at once if the heartbeat names
a process of this machine that is gone (a gateway restarted after a crash, a replaced worker), else once the
heartbeat is ``STALE_AFTER`` old. Nothing has been recorded for a part until its manifest
exists, so a rerun bills once; the requests of the interrupted run were paid to AWS twice (a crash mid-part is the
price of having no job to resume).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from finops.core.errors import GatewayError
from finops.core.processes import gone_from_this_machine, process_owner
from finops.core.types import JSON
from finops.providers.base import CallContext
from finops.providers.bedrock.s3 import S3Client
from finops.providers.result_lines import errored_result

HEARTBEAT_SECONDS = 10.0
STALE_AFTER = timedelta(seconds=6 * HEARTBEAT_SECONDS)
"""A heartbeat older than this means its runner is gone (six missed beats: S3 being slow is not death)."""
CreateMessage = Callable[[JSON, CallContext], Awaitable[Any]]


@dataclass
class _Run:
    task: asyncio.Task[None]
    stop: asyncio.Event = field(default_factory=asyncio.Event)


def heartbeat_key(part: JSON) -> str:
    return str(part["input_key"]).replace(".requests.jsonl", ".running")


def cancel_key(part: JSON) -> str:
    return str(part["input_key"]).replace(".requests.jsonl", ".cancel")


class OnDemandRunner:
    def __init__(self, s3: S3Client, create_message: CreateMessage, concurrency: int) -> None:
        self._s3 = s3
        self._create_message = create_message
        self._concurrency = concurrency
        self._runs: dict[str, _Run] = {}
        self._heartbeat_body = orjson.dumps({"owner": process_owner()})

    def running(self, part: JSON) -> bool:
        run = self._runs.get(part["input_key"])
        return run is not None and not run.task.done()

    def start(self, part: JSON, cancel_requested: bool = False) -> None:
        """Run ``part`` in the background unless this process already runs it."""
        if self.running(part):
            return
        stop = asyncio.Event()
        if cancel_requested:
            stop.set()
        task = asyncio.get_running_loop().create_task(self._run(part, stop), name=f"bedrock-on-demand-{part['n']}")
        self._runs[part["input_key"]] = _Run(task, stop)

    async def stop(self, part: JSON) -> None:
        """Cancel the part's run, here at once, in another process at its next heartbeat."""
        run = self._runs.get(part["input_key"])
        if run is not None:
            run.stop.set()
        await self._s3.put(cancel_key(part), b"{}", "application/json")

    async def beat(self, part: JSON) -> None:
        """Mark ``part`` as run by this process (``<part>.running``, naming it)."""
        await self._s3.put(heartbeat_key(part), self._heartbeat_body, "application/json")

    async def running_elsewhere(self, part: JSON) -> bool:
        """Whether another process's run of ``part`` is alive: its heartbeat is fresh and does not name a process
        of this machine that is gone."""
        key = heartbeat_key(part)
        found = await self._s3.head(key)
        if found is None or found.modified is None or datetime.now(UTC) - found.modified >= STALE_AFTER:
            return False
        try:
            heartbeat = orjson.loads(await self._s3.read(key, 4096))
        except (GatewayError, orjson.JSONDecodeError):
            return True  # unreadable just now: trust its freshness
        owner = heartbeat.get("owner") if isinstance(heartbeat, dict) else None
        return not (isinstance(owner, str) and gone_from_this_machine(owner))

    async def aclose(self) -> None:
        for run in self._runs.values():
            run.task.cancel()
        await asyncio.gather(*(run.task for run in self._runs.values()), return_exceptions=True)

    async def _heartbeat(self, part: JSON, stop: asyncio.Event) -> None:
        while True:
            await self.beat(part)
            if await self._s3.head(cancel_key(part)) is not None:
                stop.set()
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def _run(self, part: JSON, stop: asyncio.Event) -> None:
        heartbeat = asyncio.get_running_loop().create_task(self._heartbeat(part, stop))
        try:
            counts = {"successRecordCount": 0, "errorRecordCount": 0, "canceledRecordCount": 0}
            size = await self._s3.upload_stream(
                part["results_key"], self._results(part, stop, counts), "application/x-ndjson"
            )
            manifest = {**counts, "totalRecordCount": int(part["count"]), "resultsBytes": size}
            await self._s3.put(part["manifest_key"], orjson.dumps(manifest), "application/json")
        except asyncio.CancelledError:
            raise
        except Exception:
            logging.getLogger("finops.providers").exception("bedrock: an on-demand batch part failed; it will rerun")
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError, GatewayError):
                await heartbeat

    async def _results(self, part: JSON, stop: asyncio.Event, counts: dict[str, int]) -> AsyncIterator[bytes]:
        requests: list[JSON] = [orjson.loads(line) async for line in self._s3.lines(part["input_key"]) if line.strip()]
        semaphore = asyncio.Semaphore(self._concurrency)
        ctx = CallContext(request_id=f"bedrock_on_demand_{part['n']}")

        async def one(request: JSON) -> JSON:
            async with semaphore:
                if stop.is_set():
                    return {"custom_id": request["custom_id"], "result": {"type": "canceled"}}
                try:
                    result = await self._create_message(request["params"], ctx)
                except GatewayError as exc:
                    return errored_result(request["custom_id"], exc.error_type, exc.message)
                message = dict(result.message)
                message["usage"] = {**message.get("usage", {}), "service_tier": "standard"}
                return {"custom_id": request["custom_id"], "result": {"type": "succeeded", "message": message}}

        tasks = [asyncio.ensure_future(one(request)) for request in requests]
        try:
            for next_done in asyncio.as_completed(tasks):
                result = await next_done
                kind = result["result"]["type"]
                key = {"succeeded": "successRecordCount", "canceled": "canceledRecordCount"}.get(
                    kind, "errorRecordCount"
                )
                counts[key] += 1
                yield orjson.dumps(result) + b"\n"
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.gather(*tasks, return_exceptions=True)
