"""Usage ledger with group commit: requests put rows on an in-memory queue; one background task writes them in
batches. A row is durable before its answer's last byte leaves (issue 13: kill -9 loses no answered request's row)
in one of two ways:

* journaled (the default, ``finops.governance.journal``): the row is appended to this process's local journal
  when it is queued, and the answer goes at once; the database gets the row within ``linger_seconds`` (one commit
  for all rows of that window) and the journal forgets it then. A process that dies leaves its journal to be
  replayed.
* committed: the answer waits until the row's transaction committed (``Governance.durable`` awaits the future
  ``record`` returns). Rows that must be in the database before the answer (a key with a budget, so that every
  process sees the spend at once), and every row when there is no journal, are written at the next loop turn.

``stop()`` drains the queue, so a clean shutdown loses nothing; a failed write is retried."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from datetime import UTC, datetime
from decimal import Decimal

from finops.core.types import Principal
from finops.governance.journal import Segment, UsageJournal
from finops.governance.metrics import GatewayMetrics
from finops.governance.pricing import TokenUsage
from finops.governance.spend import SpendTracker
from finops.store.usage import UsageRepository, UsageRow

logger = logging.getLogger("finops.governance.ledger")


_Queued = tuple[UsageRow, "asyncio.Future[None]", Segment | None]


class UsageLedger:
    """One database write carries every row queued while the previous one ran (group commit): writing each row as
    it came cost a thread hop and an INSERT per request, ~15 % of a passthrough request's CPU. While only journaled
    rows are queued, a write waits up to ``journaled_linger_seconds`` to gather more (no answer waits for it); once
    an answer waits for its row, the write goes after ``linger_seconds`` (default 0: one turn of the loop)."""

    def __init__(
        self,
        repository: UsageRepository,
        spend: SpendTracker,
        metrics: GatewayMetrics,
        *,
        batch_size: int = 500,
        linger_seconds: float = 0.0,
        journaled_linger_seconds: float = 0.2,
        retry_seconds: float = 1.0,
    ) -> None:
        self._repository = repository
        self._journal: UsageJournal | None = None
        self._spend = spend
        self._metrics = metrics
        self._batch_size = batch_size
        self._linger_seconds = linger_seconds
        self._journaled_linger_seconds = journaled_linger_seconds
        self._retry_seconds = retry_seconds
        self._rows: deque[_Queued] = deque()
        self._queued = asyncio.Event()
        self._hurry = asyncio.Event()  # a row someone waits for, or a full batch: write without lingering
        self._waited_for = 0  # queued rows whose answers wait for their commit
        # Held while rows taken off the queue are being written: ``flush`` waits for the writer's batch in flight
        # too, else it returned on an empty queue while that batch was still uncommitted (the console then missed
        # a request just answered).
        self._writing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def attach(self, journal: UsageJournal) -> None:
        """From now on rows are journaled (``journal`` is open) and only ``commit_first`` ones wait for the database."""
        self._journal = journal

    def record(self, row: UsageRow, *, commit_first: bool = False) -> asyncio.Future[None]:
        """Never blocks on the database: the row is written by the background task. The future is done once the
        row is durable: at once when the journal has it (unless ``commit_first``), else once it is committed (or
        given up after retries: ``finops_ledger_dropped_rows_total``). Awaiting it is the caller's choice."""
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        segment = None
        if self._journal is not None:
            try:
                row, segment = self._journal.append(row)
            except OSError:
                logger.exception("the usage journal refused a row; its answer waits for the database instead")
                self._metrics.journal_failures.inc()
        self._rows.append((row, written, segment))
        if segment is not None and not commit_first:
            written.set_result(None)
        else:
            self._waited_for += 1
            self._hurry.set()
        if len(self._rows) >= self._batch_size:
            self._hurry.set()
        self._queued.set()
        return written

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="finops-usage-ledger")

    async def stop(self) -> None:
        """Let the writer finish what it is writing (never cancelled mid-write: that could write twice), then
        drain the rest."""
        self._stopping = True
        if self._task is not None:
            self._queued.set()
            self._hurry.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def flush(self) -> None:
        """Write everything queued so far, and wait for the batch being written (tests, admin reports and the
        console that want up-to-date numbers)."""
        async with self._writing:
            while self._rows:
                await self._write(self._take_batch(), final=True)

    def _take_batch(self) -> list[_Queued]:
        """Rows leave the queue before any await, so the writer and ``flush`` never write the same row."""
        take = min(len(self._rows), self._batch_size)
        batch = [self._rows.popleft() for _ in range(take)]
        self._waited_for -= sum(1 for _, written, _ in batch if not written.done())
        if not self._waited_for:
            self._hurry.clear()
        return batch

    async def _run(self) -> None:
        while not self._stopping:
            await self._queued.wait()
            if not self._stopping and not self._hurry.is_set():
                # Journaled rows only: they are safe, and one commit for a whole window costs a fraction of one
                # per loop turn (an early wake-up when an answer starts waiting for its row).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._journaled_linger_seconds):
                        await self._hurry.wait()
            if not self._stopping and len(self._rows) < self._batch_size:
                await asyncio.sleep(self._linger_seconds)  # 0: the requests already running add their rows
            self._queued.clear()
            # Full batches go at once; a partial one waits for the next window. (Writing until the queue was
            # empty never stopped under steady traffic: rows arrive during every write.)
            while self._rows:
                async with self._writing:
                    if self._rows:
                        await self._write(self._take_batch(), final=False)
                if len(self._rows) < self._batch_size:
                    break

    async def _write(self, queued: list[_Queued], *, final: bool) -> None:
        rows = [row for row, _, _ in queued]
        committed = False
        try:
            committed = await self._write_rows(rows, final=final)
        finally:
            for _, written, segment in queued:
                if not written.done():
                    written.set_result(None)
                if segment is not None:
                    if committed:
                        UsageJournal.committed(segment)
                    else:
                        UsageJournal.keep(segment)  # given up here: the next process replays the journal

    async def _write_rows(self, rows: list[UsageRow], *, final: bool) -> bool:
        attempts = 0
        while rows:
            try:
                await self._repository.add_many(rows)
            except Exception:
                attempts += 1
                logger.exception("writing %d usage rows failed (attempt %d)", len(rows), attempts)
                if (final or self._stopping) and attempts >= 3:
                    self._metrics.ledger_dropped.inc(len(rows))
                    return False
                await asyncio.sleep(self._retry_seconds)
                continue
            for row in rows:
                if row.key_id and row.cost_usd is not None:
                    self._spend.flushed(row.key_id, Decimal(row.cost_usd))
            return True
        return True


def usage_row(
    principal: Principal,
    provider: str,
    model: str,
    tokens: TokenUsage,
    cost: Decimal | None,
    *,
    request_id: str | None = None,
    batch_id: str | None = None,
    cache_hit: bool = False,
    saved_usd: Decimal | None = None,
    latency_ms: int | None = None,
    status: int | None = None,
) -> UsageRow:
    """The ledger row of one priced request (or one request of a batch), dated now. For a response-cache hit the
    caller passes zero tokens and cost (no provider was called) and ``saved_usd``, what the live request cost."""
    return UsageRow(
        created_at=datetime.now(UTC),
        key_id=principal.key_id,
        key_name=principal.key_name,
        owner=principal.owner,
        provider=provider,
        model=model,
        input_tokens=tokens.input_tokens,
        output_tokens=tokens.output_tokens,
        cache_read_tokens=tokens.cache_read_tokens,
        cache_write_tokens=tokens.cache_write_tokens,
        cost_usd=cost,
        batch_id=batch_id,
        request_id=request_id,
        cache_hit=cache_hit,
        saved_usd=saved_usd,
        latency_ms=latency_ms,
        status=status,
    )
