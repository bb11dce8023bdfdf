"""Batch cost reconciler: follows every batch whose usage is not recorded yet and, once it has ended, reads its
results once and records each succeeded request's usage at the batch price (the on-demand price for a request
whose usage says ``service_tier: standard``: the provider ran it on demand).

Exactly once across gateway processes: a batch is leased with a conditional UPDATE before any work, and the
usage rows are inserted in the same transaction that marks it recorded, guarded by the lease
(``UsageRepository.record_batch``). A batch not ended yet is put back with a delay so it is polled gently.

The reconciler knows nothing of providers: whoever starts it hands it an ``EndedBatchResults`` (the core's batch
service), and a callback for each recorded batch (the governance facade updates spend and metrics).

``run_once`` is one polling round; the app runs it every ``interval`` as a leased background job (one process).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

import orjson

from finops.core.errors import NotFoundError
from finops.core.types import Principal
from finops.governance import pricing
from finops.governance.ledger import usage_row
from finops.governance.pricing import TokenUsage
from finops.store.usage import PendingBatch, UsageRepository, UsageRow

logger = logging.getLogger("finops.governance.reconciler")
_LEASE_SECONDS = 300.0
_PER_ROUND = 20


async def _lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    pending = b""
    async for chunk in chunks:
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            if line.strip():
                yield line
    if pending.strip():
        yield pending


class EndedBatchResults(Protocol):
    async def results_once_ended(self, batch_id: str) -> AsyncIterator[bytes] | None:
        """The batch's Anthropic result lines (JSONL chunks) once it has ended upstream; ``None`` while it runs;
        no lines for a batch the gateway never stored. ``NotFoundError`` when it is gone upstream."""
        ...


BatchRecorded = Callable[[PendingBatch, list[UsageRow], Decimal], None]
"""Told of each batch this process recorded: its pending entry, the usage rows written and their total cost."""


class BatchReconciler:
    def __init__(
        self, usage: UsageRepository, batches: EndedBatchResults, on_recorded: BatchRecorded, *, interval: float
    ) -> None:
        self._usage = usage
        self._batches = batches
        self._on_recorded = on_recorded
        self._interval = interval
        self._owner = "proc_" + secrets.token_hex(8)

    async def run_once(self) -> int:
        recorded = 0
        for pending in await self._usage.unrecorded_batches(datetime.now(UTC), _PER_ROUND):
            try:
                recorded += await self.settle(pending)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("could not reconcile batch %s", pending.batch_id)
                await self._usage.postpone(pending.batch_id, self._owner, self._interval * 5)
        return recorded

    async def settle(self, pending: PendingBatch) -> bool:
        """Record the batch's usage if it has ended and nobody else did; True when this call recorded it."""
        if not await self._usage.lease(pending.batch_id, self._owner, _LEASE_SECONDS):
            return False
        try:
            results = await self._batches.results_once_ended(pending.batch_id)
            if results is None:
                await self._usage.postpone(pending.batch_id, self._owner, self._interval)
                return False
            rows = [line async for line in self._priced(pending, results)]
        except NotFoundError:
            # Gone upstream before its results were read: keep the reservation as what was spent.
            reserved = Decimal(pending.reserved_usd or 0)
            gone = usage_row(
                _principal(pending),
                pending.provider,
                "(batch results unavailable)",
                TokenUsage(),
                reserved,
                batch_id=pending.batch_id,
            )
            return await self._finish(pending, [gone], reserved)
        total = sum((Decimal(r.cost_usd) for r in rows if r.cost_usd is not None), Decimal(0))
        return await self._finish(pending, rows, total)

    async def _priced(self, pending: PendingBatch, chunks: AsyncIterator[bytes]) -> AsyncIterator[UsageRow]:
        principal = _principal(pending)
        async for line in _lines(chunks):
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            result = item.get("result") or {}
            if result.get("type") != "succeeded":
                continue  # errored, canceled and expired requests are not billed
            message = result.get("message") or {}
            usage = message.get("usage") or {}
            tokens = TokenUsage.from_anthropic(usage)
            model = str(message.get("model") or "unknown")
            # A request the provider ran on demand (a Bedrock part below the job minimum) says so in its usage
            # (``service_tier: standard``) and costs the on-demand price; every other batch result, the batch price.
            on_demand = usage.get("service_tier") == "standard"
            cost = pricing.cost(pending.provider, model, tokens, batch=not on_demand)
            yield usage_row(
                principal,
                pending.provider,
                model,
                tokens,
                cost,
                request_id=item.get("custom_id"),
                batch_id=pending.batch_id,
            )

    async def _finish(self, pending: PendingBatch, rows: list[UsageRow], cost: Decimal) -> bool:
        if not await self._usage.record_batch(pending.batch_id, self._owner, rows, cost):
            return False
        self._on_recorded(pending, rows, cost)
        return True

    async def settle_now(self, batch_id: str) -> None:
        """Before a batch is deleted: record its usage if that has not happened (best effort)."""
        pending = await self._usage.pending_batch(batch_id)
        if pending is not None:
            try:
                await self.settle(pending)
            except Exception:
                logger.exception("could not record batch %s before its deletion", batch_id)


def _principal(pending: PendingBatch) -> Principal:
    return Principal(owner=pending.owner, key_id=pending.key_id, key_name=pending.key_name)
