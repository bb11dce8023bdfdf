"""The governance facade the core calls: admit a request (key policy, budget, rate limits) before it reaches a
provider, then record what it cost. Everything on the request path is in memory (cached keys and spend, local
or Redis counters); ledger rows are written behind the request by ``UsageLedger``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from finops.config import Settings
from finops.core.errors import GatewayError, PermissionDeniedError, RateLimitError
from finops.core.faults import BEFORE_ANSWER, fault_point
from finops.core.push import Push, may_end_stream
from finops.core.types import JSON, MessageResult, MessageStream, Principal
from finops.governance import pricing
from finops.governance.auth import KeyCache, VirtualKeyAuthenticator
from finops.governance.journal import UsageJournal, journal_directory, replay_dead_segments
from finops.governance.keys import KeyAdmin
from finops.governance.ledger import UsageLedger, usage_row
from finops.governance.metrics import GatewayMetrics
from finops.governance.pricing import TokenUsage
from finops.governance.ratelimit import counters_for
from finops.governance.reconciler import BatchReconciler, EndedBatchResults
from finops.governance.reports import usage_report
from finops.governance.spend import SpendTracker, period_start
from finops.store.intents import Budget
from finops.store.keys import KeyRepository, VirtualKeyRecord
from finops.store.usage import PendingBatch, UsageRepository, UsageRow

_NO_RETRY = {"x-should-retry": "false"}
_REPLAY_SECONDS = 30.0  # how often each process looks for the journals of dead processes on this machine

logger = logging.getLogger("finops.governance")


@dataclass(frozen=True)
class BatchReservation:
    amount: Decimal | None
    """The batch's worst-case cost; ``None`` when no request has a known price."""
    budget: Budget | None
    key: VirtualKeyRecord | None


@dataclass
class Admission:
    principal: Principal
    provider: str
    model: str
    key: VirtualKeyRecord | None
    started: float


def usd(amount: Decimal) -> str:
    """$1.2345 style; small amounts keep enough digits to be told apart from zero."""
    return f"${amount:.4f}" if amount >= Decimal("0.01") or amount == 0 else f"${amount:.8f}"


def estimate_input_tokens(params: JSON) -> int:
    """A cheap upper-ish estimate for reservations: one token per 4 bytes of the request's JSON."""
    return (len(orjson.dumps(params)) + 3) // 4


_DEMAND_IN_THREAD = 1_000
"""Requests from which a batch's demand is worked out on a worker thread (a thread hop costs ~0.1 ms)."""


def batch_demand(requests: list[JSON]) -> dict[str, tuple[int, int, int]]:
    """Per model, in the order the batch first uses it: its requests, their estimated input tokens, and the sum
    of their ``max_tokens``."""
    demand: dict[str, tuple[int, int, int]] = {}
    for request in requests:
        params = request["params"]
        count, tokens_in, tokens_out = demand.get(params["model"], (0, 0, 0))
        demand[params["model"]] = (
            count + 1,
            tokens_in + estimate_input_tokens(params),
            tokens_out + int(params.get("max_tokens") or 0),
        )
    return demand


class Governance:
    def __init__(self, settings: Settings, engine: AsyncEngine, metrics: GatewayMetrics | None = None) -> None:
        config = settings.governance
        self.settings = config
        self.keys = KeyRepository(engine)
        self.usage = UsageRepository(engine)
        self.metrics = metrics or GatewayMetrics()
        self.cache = KeyCache(self.keys, ttl=config.key_cache_seconds)
        self.authenticator = VirtualKeyAuthenticator(self.cache, require=config.require_virtual_key)
        self.admin = KeyAdmin(self.keys, on_change=self._key_changed)
        self.spend = SpendTracker(self.usage, ttl=config.spend_cache_seconds)
        self.counters = counters_for(settings.redis, self.metrics.redis_failures.labels("ratelimit").inc)
        directory = journal_directory(settings.database.url, config.ledger_journal_dir)
        self.journal = (
            UsageJournal(directory, fsync_seconds=config.ledger_journal_fsync_seconds)
            if config.ledger_journal and directory is not None
            else None
        )
        self.ledger = UsageLedger(self.usage, self.spend, self.metrics)  # the journal is attached once it opened
        self._background: set[asyncio.Task[Any]] = set()
        self._replaying: asyncio.Task[None] | None = None
        self._reconciler: BatchReconciler | None = None
        pricing.load_price_table()

    def _key_changed(self, key_id: str) -> None:
        self.cache.invalidate(key_id)
        self.spend.forget(key_id)

    async def start(self, batches: EndedBatchResults | None = None) -> BatchReconciler | None:
        """Start the ledger writer and, given where batch results come from, build the batch cost reconciler. Its
        polling (``run_once``) is the caller's to schedule: it runs as a leased background job
        (``finops.governance.background``) in one process among all sharing the database."""
        if self.journal is not None:
            try:
                self.journal.open()
            except OSError:
                # A read-only or missing volume: serve anyway, every answer waiting for its row's commit instead.
                logger.exception(
                    "the usage journal cannot be opened in %s; answers wait for the database", self.journal.directory
                )
                self.metrics.journal_failures.inc()
                self.journal = None
        if self.journal is not None:
            self.ledger.attach(self.journal)
            self.journal.start()
            await self._replay_journals()  # what a process that died here before left unwritten
            self._replaying = asyncio.create_task(self._replay_periodically(), name="finops-journal-replay")
        self.ledger.start()
        if batches is not None:
            interval = self.settings.reconcile_interval_seconds
            self._reconciler = BatchReconciler(self.usage, batches, self.batch_recorded, interval=interval)
        return self._reconciler

    async def stop(self) -> None:
        if self._replaying is not None:
            self._replaying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replaying
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.ledger.stop()
        if self.journal is not None:
            await self.journal.close()
        await self.counters.aclose()

    async def _replay_journals(self) -> None:
        assert self.journal is not None
        try:
            self.metrics.journal_replayed.inc(await replay_dead_segments(self.journal.directory, self.usage))
        except Exception:
            logger.exception("replaying usage journals failed; the next try is in %s s", _REPLAY_SECONDS)

    async def _replay_periodically(self) -> None:
        """Every process, not the lease holder: journals are on this machine (a worker that died while the others
        went on is replayed by them)."""
        while True:
            await asyncio.sleep(_REPLAY_SECONDS)
            await self._replay_journals()

    # Admission --------------------------------------------------------------------------------------------------

    async def _key_of(self, principal: Principal) -> VirtualKeyRecord | None:
        return await self.cache.by_id(principal.key_id) if principal.key_id else None

    def _refuse(self, reason: str, exc: GatewayError) -> GatewayError:
        self.metrics.refused.labels(reason).inc()
        return exc

    def _check_access(self, key: VirtualKeyRecord, provider: str, model: str) -> None:
        if key.providers is not None and provider not in key.providers:
            raise self._refuse(
                "provider",
                PermissionDeniedError(f"key '{key.name}' may not use provider {provider!r}", headers=_NO_RETRY),
            )
        if key.models is not None and model not in key.models:
            raise self._refuse(
                "model", PermissionDeniedError(f"key '{key.name}' may not use model {model!r}", headers=_NO_RETRY)
            )

    async def _check_budget(self, key: VirtualKeyRecord, reservation: Decimal | None = None) -> None:
        if key.budget_usd is None:
            return
        spent = await self.spend.exact(key.id, key.budget_period)  # shared state: budgets hold across processes
        needed = reservation or Decimal(0)
        if spent + needed > key.budget_usd or (reservation is None and spent >= key.budget_usd):
            detail = f"; this batch may cost up to {usd(needed)}" if reservation is not None else ""
            raise self._refuse(
                "budget",
                PermissionDeniedError(
                    f"budget exceeded for key '{key.name}': spent {usd(spent)} of {usd(key.budget_usd)} "
                    f"({key.budget_period}){detail}",
                    headers=_NO_RETRY,
                ),
            )

    async def _check_rate(self, key: VirtualKeyRecord) -> None:
        if key.rpm is not None:
            count, left = await self.counters.add(f"{key.id}:rpm", 1)
            if count > key.rpm:
                raise self._refuse(
                    "rpm",
                    RateLimitError(
                        f"rate limit exceeded for key '{key.name}': {key.rpm} requests per minute",
                        headers={"retry-after": str(left)},
                    ),
                )
        if key.tpm is not None:
            used, left = await self.counters.add(f"{key.id}:tpm", 0)
            if used >= key.tpm:
                raise self._refuse(
                    "tpm",
                    RateLimitError(
                        f"rate limit exceeded for key '{key.name}': {key.tpm} tokens per minute",
                        headers={"retry-after": str(left)},
                    ),
                )

    async def admit(self, principal: Principal, provider: str, model: str) -> Admission:
        key = await self._key_of(principal)
        if key is not None:
            self._check_access(key, provider, model)
            await self._check_budget(key)
            await self._check_rate(key)
        return Admission(principal, provider, model, key, time.monotonic())

    # Recording --------------------------------------------------------------------------------------------------

    def _later(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def record(
        self, admission: Admission, usage: JSON | None, request_id: str | None, *, status: int = 200, hit: bool = False
    ) -> asyncio.Future[None]:
        """Price the request and queue its ledger row; nothing here waits on I/O. A response-cache ``hit`` (whose
        ``usage`` is the cached answer's) is a row with no tokens and no cost that saved what ``usage`` costs. The
        future is done once the row is committed: ``durable`` waits for it before an answer ends."""
        tokens = TokenUsage.from_anthropic(usage)
        cost = pricing.cost(admission.provider, admission.model, tokens)
        principal = admission.principal
        elapsed = time.monotonic() - admission.started
        if hit:
            return self._record_hit(admission, cost, request_id, round(elapsed * 1000), status)
        self.metrics.observe_usage(
            admission.provider,
            admission.model,
            principal.key_name,
            tokens,
            cost,
            elapsed,
        )
        if principal.key_id and cost is not None:
            self.spend.add(principal.key_id, cost, queued=True)
        if admission.key is not None and admission.key.tpm is not None and tokens.total:
            self._later(self.counters.add(f"{admission.key.id}:tpm", tokens.total))
        row = usage_row(
            principal,
            admission.provider,
            admission.model,
            tokens,
            cost,
            request_id=request_id,
            latency_ms=round(elapsed * 1000),
            status=status,
        )
        # A key with a budget: the row is committed before the answer ends, so that the next request's budget
        # check sees it in whichever process it lands (the journal alone would make it durable, not visible).
        commit_first = admission.key is not None and admission.key.budget_usd is not None
        return self.ledger.record(row, commit_first=commit_first)

    async def durable(self, written: asyncio.Future[None]) -> None:
        """Wait until a row is durable: called before an answer's last byte leaves, so a kill -9 after the answer
        cannot lose its row. A journaled row is durable at once; one that must be committed first waits (at most
        ``ledger_wait_seconds``) for a commit shared by all requests in flight (``UsageLedger``)."""
        wait = self.settings.ledger_wait_seconds
        if wait <= 0 or written.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(written), wait)
        except TimeoutError:
            self.metrics.ledger_late.inc()

    def _record_hit(
        self, admission: Admission, saved: Decimal | None, request_id: str | None, latency_ms: int, status: int
    ) -> asyncio.Future[None]:
        principal = admission.principal
        # Not an LLM request in /metrics (none reached a provider): finops_cache_requests_total counts it.
        self.metrics.observe_saving(admission.provider, admission.model, principal.key_name, saved)
        row = usage_row(
            principal,
            admission.provider,
            admission.model,
            TokenUsage(),
            Decimal(0),
            request_id=request_id,
            cache_hit=True,
            saved_usd=saved,
            latency_ms=latency_ms,
            status=status,
        )
        return self.ledger.record(row)

    async def record_embedding(
        self, principal: Principal, provider: str, model: str, input_tokens: int, request_id: str | None
    ) -> None:
        """An embedding call the response cache made for ``principal``'s request: its own ledger row (it was
        admitted with that request, so it is not admitted again)."""
        admission = Admission(principal, provider, model, await self._key_of(principal), time.monotonic())
        await self.durable(self.record(admission, {"input_tokens": input_tokens, "output_tokens": 0}, request_id))

    def cache_result(self, result: str) -> None:
        self.metrics.observe_cache(result)

    def failed(self, admission: Admission, exc: GatewayError) -> None:
        self.metrics.observe_error(admission.provider, exc.error_type)

    async def metered(
        self,
        principal: Principal,
        provider: str,
        model: str,
        request_id: str,
        call: Callable[[], Awaitable[MessageResult]],
        cached: Callable[[], Awaitable[MessageResult | None]] | None = None,
    ) -> MessageResult:
        """``call`` answered and priced; ``cached`` (the response cache's lookup, after admission) may answer first,
        and is then ledgered as a hit."""
        admission = await self.admit(principal, provider, model)
        hit = await cached() if cached is not None else None
        try:
            result = hit or await call()
        except GatewayError as exc:
            self.failed(admission, exc)
            raise
        # The row is committed before the answer is sent (issue 13: a kill -9 must not lose an answered request).
        await self.durable(self.record(admission, result.usage, request_id, hit=hit is not None))
        fault_point(BEFORE_ANSWER)
        return result

    async def metered_stream(
        self,
        principal: Principal,
        provider: str,
        model: str,
        request_id: str,
        open_stream: Callable[[], Awaitable[MessageStream]],
        cached: Callable[[], Awaitable[MessageStream | None]] | None = None,
    ) -> AsyncGenerator[bytes, Push | None]:
        """The stream's frames, priced from the usage the stream reports when it ends (or is abandoned by the
        client): the frames themselves are never re-read."""
        admission = await self.admit(principal, provider, model)
        hit = await cached() if cached is not None else None
        stream: MessageStream | None = hit
        status = 200
        recorded = False
        try:
            stream = stream or await open_stream()
            # The frame that ends the stream is held back until the usage row is durable: a client that has the
            # whole answer has a ledger row, whatever happens to this process next (issue 13). Every other frame goes
            # at once (holding each until the next one came delayed every token by the gap to the next).
            last: bytes | None = None
            frames = aiter(stream)
            inner: Push | None = None  # a push sent in by the response, behind this layer's stage (below)

            def hold_back_ending(frame: bytes) -> None:  # the loop's body, for frames pushed (finops.core.push)
                nonlocal last
                if last is not None:
                    deliver(last)
                    last = None
                if may_end_stream(frame):
                    last = frame
                else:
                    deliver(frame)

            while True:
                try:
                    frame = await (frames.asend(inner) if inner is not None else anext(frames))
                except StopAsyncIteration:
                    break
                inner = None
                if last is not None:
                    yield last  # it looked like an ending but the stream went on
                    last = None
                if may_end_stream(frame):
                    last = frame
                    continue
                push = yield frame
                if push is not None:
                    deliver = push.deliver
                    inner = push.through(hold_back_ending)
            await stream.aclose()
            recorded = True
            status = self._stream_status(admission, stream, status)
            if stream.usage is not None:
                await self.durable(self.record(admission, stream.usage, request_id, status=status, hit=hit is not None))
            fault_point(BEFORE_ANSWER)
            if last is not None:
                yield last
        except GatewayError as exc:
            status = exc.status_code  # the stream failed after usage was known: the row says so
            self.failed(admission, exc)
            raise
        finally:
            if stream is not None and not recorded:
                # Abandoned by the client, or failed: its row is written behind (no answer is left to hold back).
                await stream.aclose()
                status = self._stream_status(admission, stream, status)
                if stream.usage is not None:
                    self.record(admission, stream.usage, request_id, status=status, hit=hit is not None)

    def _stream_status(self, admission: Admission, stream: MessageStream, status: int) -> int:
        if stream.error is not None:
            self.failed(admission, stream.error)
            return stream.error.status_code  # the stream failed after it began: the row says so
        return status

    # Admin ------------------------------------------------------------------------------------------------------

    async def spent(self, key: VirtualKeyRecord) -> Decimal:
        """What the key has spent in its current budget period (its reservations for running batches included)."""
        return await self.spend.spent(key.id, key.budget_period)

    async def usage_report(self, group_by: str, start: datetime | None, end: datetime | None) -> dict[str, Any]:
        """``finops.governance.reports.usage_report``, with this process's queued ledger rows written first."""
        await self.ledger.flush()
        return await usage_report(self.usage, group_by, start, end)

    # Batches ----------------------------------------------------------------------------------------------------

    async def reserve_batch(
        self, principal: Principal, provider: str, requests: list[JSON], *, on_demand_below: int = 0
    ) -> BatchReservation:
        """Check the key may run every request (and its rate limit), and work out the batch's worst case. The budget
        check itself happens with the reservation, atomically, when the batch's intent is opened in the store
        (``finops.store.intents.IntentRepository.open``): ``budget`` says against what. A model with fewer than
        ``on_demand_below`` requests is run on demand by the provider (Bedrock below its job minimum): its worst
        case is at the on-demand price."""
        key = await self._key_of(principal)
        amount: Decimal | None = None
        # Estimating 100,000 requests is ~0.2 s of CPU: on a worker thread, the loop keeps serving.
        large = len(requests) > _DEMAND_IN_THREAD
        by_model = await asyncio.to_thread(batch_demand, requests) if large else batch_demand(requests)
        if key is not None:
            for model in by_model:  # in first-use order: the first refused model is the first request's refused
                self._check_access(key, provider, model)
        for model, (count, tokens_in, tokens_out) in by_model.items():
            batch = count >= on_demand_below
            worst = pricing.worst_case(provider, model, tokens_in, tokens_out, batch=batch)
            if worst is not None:
                amount = (amount or Decimal(0)) + worst
        budget = None
        if key is not None:
            await self._check_rate(key)
            if key.budget_usd is not None:
                budget = Budget(key.id, key.budget_usd, period_start(key.budget_period, datetime.now(UTC)))
        return BatchReservation(amount, budget, key)

    def pending_batch(self, principal: Principal, batch_id: str, provider: str, amount: Decimal | None) -> PendingBatch:
        """The batch's cost row, written with its intent before the upstream call."""
        return PendingBatch(
            batch_id=batch_id,
            key_id=principal.key_id,
            key_name=principal.key_name,
            owner=principal.owner,
            provider=provider,
            reserved_usd=amount,
        )

    def batch_refused(self, reservation: BatchReservation, spent: Decimal) -> GatewayError:
        key = reservation.key
        assert key is not None and key.budget_usd is not None  # only a budgeted key is refused
        return self._refuse(
            "budget",
            PermissionDeniedError(
                f"budget exceeded for key '{key.name}': spent {usd(spent)} of {usd(key.budget_usd)} "
                f"({key.budget_period}); this batch may cost up to {usd(reservation.amount or Decimal(0))}",
                headers=_NO_RETRY,
            ),
        )

    def batch_reserved(self, principal: Principal, amount: Decimal | None) -> None:
        """This process's view of the key's spend counts the reservation at once."""
        if principal.key_id and amount:
            self.spend.add(principal.key_id, amount, queued=False)

    async def before_batch_delete(self, batch_id: str) -> None:
        """A deleted batch's results may vanish upstream: record its usage first."""
        if self._reconciler is not None:
            await self._reconciler.settle_now(batch_id)

    def batch_recorded(self, pending: PendingBatch, rows: list[UsageRow], cost: Decimal) -> None:
        if pending.key_id:
            self.spend.add(pending.key_id, cost - (pending.reserved_usd or Decimal(0)), queued=False)
        for row in rows:
            tokens = TokenUsage(row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_write_tokens)
            self.metrics.observe_usage(row.provider, row.model, row.key_name, tokens, row.cost_usd, None)
