"""Message batches: parse and field policy -> provider adapter -> store, and status refresh from upstream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from finops.core.errors import InvalidRequestError, NotFoundError, UpstreamError
from finops.core.faults import AFTER_INTENT, AFTER_UPSTREAM_CREATE, fault_point
from finops.core.ids import new_batch_id, shown_id
from finops.core.normalize import normalize
from finops.core.params import parse_batch
from finops.core.policy import column_for, enforce_batch_policy, enforce_policy
from finops.core.release import release
from finops.core.routing import split_model
from finops.core.types import JSON, Principal
from finops.providers.base import BatchRef, BatchStatus, CallContext
from finops.providers.registry import ProviderRegistry
from finops.store import Store
from finops.store.intents import CREATING, BudgetRefused, Intent, new_intent
from finops.store.records import BatchRecord, Page

if TYPE_CHECKING:
    from finops.governance.governor import BatchReservation, Governance

logger = logging.getLogger("finops.core.batches")

BATCH_LIFETIME = timedelta(hours=24)
_REFRESH_CONCURRENCY = 8


def _ref(record: BatchRecord) -> BatchRef:
    return BatchRef(
        upstream_id=record.upstream_id,
        state=record.upstream_state,
        request_count=record.request_count,
        created_at=record.created_at,
        cancel_requested=record.cancel_initiated_at is not None,
    )


def _with_status(record: BatchRecord, status: BatchStatus, cancel_initiated_at: datetime | None) -> BatchRecord:
    return BatchRecord(
        **{
            **record.__dict__,
            "processing_status": status.processing_status,
            "request_counts": dict(status.request_counts),
            "ended_at": status.ended_at or (datetime.now(UTC) if status.processing_status == "ended" else None),
            "cancel_initiated_at": cancel_initiated_at,
        }
    )


_LARGE_BATCH = 1_000
"""Requests from which a batch is checked on a worker thread (a thread hop costs ~0.1 ms; 1,000 requests ~30 ms)."""


def _is_large(body: object) -> bool:
    if not isinstance(body, dict):
        return False  # not a batch at all: parse_batch says so
    requests = body.get("requests")
    return isinstance(requests, list) and len(requests) > _LARGE_BATCH


class BatchService:
    def __init__(
        self,
        store: Store,
        providers: ProviderRegistry,
        governance: Governance | None = None,
        *,
        process: str = "",
    ) -> None:
        self._store = store
        self._process = process  # names this process in its intents (recovery asks whether it is still alive)
        self._providers = providers
        self._governance = governance  # reserves a batch's worst-case cost; its reconciler records the real one

    def check_provider(self, name: str) -> None:
        """Refuse early (before a 256 MB body is even read) when the header names a provider without batches:
        ``x-model-provider: bedrock`` means Bedrock, whatever the models in the body say."""
        self._providers.get(name, needs="batches")

    def _checked(self, header_provider: str, body: JSON) -> tuple[str, list[JSON]]:
        """The batch parsed, routed to one provider and checked against its field policy, requests normalised."""
        parse_batch(body)
        provider_name, requests = _route(header_provider, body["requests"])
        self._providers.get(provider_name, needs="batches")
        enforce_batch_policy(body, provider_name)
        for index, request in enumerate(requests):
            params = request["params"]
            enforce_policy(params, provider_name, params["model"], where=f"requests.{index}.params.")
        return provider_name, [_normalized(request, provider_name) for request in requests]

    async def create(self, principal: Principal, header_provider: str, body: JSON, ctx: CallContext) -> BatchRecord:
        """A batch goes where its models say, as a message does: ``provider/model`` names pick the provider
        whatever ``header_provider`` (the ``x-model-provider`` header, or its default) says, and every request
        must end up with the same one."""
        if not _is_large(body):
            provider_name, requests = self._checked(header_provider, body)
            return await self._create_checked(principal, provider_name, requests, ctx)
        # Checking 100,000 requests is seconds of CPU: on a worker thread, the loop keeps serving.
        provider_name, requests = await asyncio.to_thread(self._checked, header_provider, body)
        try:
            return await self._create_checked(principal, provider_name, requests, ctx)
        finally:
            await release(requests)  # the normalised copies, freed in steps rather than in one pause

    async def _create_checked(
        self, principal: Principal, provider_name: str, requests: list[JSON], ctx: CallContext
    ) -> BatchRecord:
        provider = self._providers.get(provider_name, needs="batches")
        batch_id = new_batch_id()
        intent = new_intent(self._process, "batch", provider_name, principal.owner, batch_id, len(requests))
        reservation = None
        pending = None
        if self._governance is not None:
            reservation = await self._governance.reserve_batch(
                principal, provider_name, requests, on_demand_below=provider.capabilities.on_demand_below
            )
            pending = self._governance.pending_batch(principal, batch_id, provider_name, reservation.amount)
        try:
            # Committed before anything is sent: a crash from here on leaves a row recovery acts on, and the
            # reservation is taken against the budget atomically (parallel creates are admitted one at a time).
            await self._store.intents.open(
                intent, reservation=pending, budget=reservation.budget if reservation else None
            )
        except BudgetRefused as refused:
            assert self._governance is not None and reservation is not None
            raise self._governance.batch_refused(reservation, refused.spent) from None
        if self._governance is not None and reservation is not None:
            self._governance.batch_reserved(principal, reservation.amount)
        fault_point(AFTER_INTENT)
        try:
            upstream = await provider.create_batch(
                requests, replace(ctx, upstream_key=intent.upstream_key, batch_id=batch_id)
            )
        except BaseException:
            await self._release(principal, intent, reservation)
            raise
        fault_point(AFTER_UPSTREAM_CREATE)
        now = datetime.now(UTC)
        record = BatchRecord(
            id=batch_id,
            provider=provider_name,
            upstream_id=upstream.upstream_id,
            owner=principal.owner,
            request_count=len(requests),
            upstream_state=upstream.state,
            processing_status=upstream.status.processing_status,
            request_counts=dict(upstream.status.request_counts),
            created_at=now,
            expires_at=now + BATCH_LIFETIME,
            ended_at=upstream.status.ended_at,
            cancel_initiated_at=None,
            archived_at=None,
        )
        try:
            # The batch row and the intent's completion in one transaction; its cost row went in with the intent.
            await self._store.intents.complete_batch(intent.id, record)
        except Exception as exc:
            # An upstream batch nobody can see would still cost money: stop it.
            with contextlib.suppress(Exception):
                await provider.cancel_batch(_ref(record), ctx)
            with contextlib.suppress(Exception):
                await provider.delete_batch(_ref(record), ctx)
            await self._release(principal, intent, reservation)
            raise UpstreamError("the batch could not be recorded; it was cancelled upstream") from exc
        return record

    async def _release(self, principal: Principal, intent: Intent, reservation: BatchReservation | None) -> None:
        """The create failed: the intent is abandoned and its reservation given back (never lets the error go)."""
        try:
            released = await self._store.intents.abandon(intent)
        except Exception:
            logger.exception("could not abandon intent %s; the recovery pass will", intent.id)
            return
        if released and self._governance is not None and reservation is not None and reservation.amount:
            self._governance.batch_reserved(principal, -reservation.amount)

    async def _owned(self, principal: Principal, batch_id: str) -> BatchRecord:
        record = await self._store.batches.get(batch_id, principal.owner)
        if record is None:
            raise NotFoundError(f"Batch not found: {shown_id(batch_id)}")
        return record

    async def _refresh(self, record: BatchRecord, ctx: CallContext) -> BatchRecord:
        if record.processing_status == "ended":
            return record
        provider = self._providers.get(record.provider)
        status = await provider.get_batch(_ref(record), ctx)
        return await self._save(record, status, record.cancel_initiated_at)

    async def _save(self, record: BatchRecord, status: BatchStatus, cancel_at: datetime | None) -> BatchRecord:
        updated = _with_status(record, status, cancel_at)
        if (
            updated.processing_status,
            updated.request_counts,
            updated.cancel_initiated_at,
        ) != (record.processing_status, record.request_counts, record.cancel_initiated_at):
            await self._store.batches.update_status(
                record.id,
                processing_status=updated.processing_status,
                request_counts=updated.request_counts,
                ended_at=updated.ended_at,
                cancel_initiated_at=updated.cancel_initiated_at,
            )
        return updated

    async def retrieve(self, principal: Principal, batch_id: str, ctx: CallContext) -> BatchRecord:
        return await self._refresh(await self._owned(principal, batch_id), ctx)

    async def list(
        self,
        principal: Principal,
        provider_name: str,
        ctx: CallContext,
        *,
        limit: int,
        after_id: str | None,
        before_id: str | None,
    ) -> Page[BatchRecord]:
        self._providers.get(provider_name, needs="batches")
        page = await self._store.batches.list(
            principal.owner, provider_name, limit=limit, after_id=after_id, before_id=before_id
        )
        semaphore = asyncio.Semaphore(_REFRESH_CONCURRENCY)

        async def refresh(record: BatchRecord) -> BatchRecord:
            async with semaphore:
                try:
                    return await self._refresh(record, ctx)
                except UpstreamError:
                    return record  # a slow upstream must not break the listing; the stored status stands

        return Page(list(await asyncio.gather(*(refresh(r) for r in page.data))), page.has_more)

    async def cancel(self, principal: Principal, batch_id: str, ctx: CallContext) -> BatchRecord:
        record = await self._refresh(await self._owned(principal, batch_id), ctx)
        if record.processing_status == "ended":
            return record
        provider = self._providers.get(record.provider)
        status = await provider.cancel_batch(_ref(record), ctx)
        return await self._save(record, status, record.cancel_initiated_at or datetime.now(UTC))

    async def delete(self, principal: Principal, batch_id: str, ctx: CallContext) -> BatchRecord:
        record = await self._refresh(await self._owned(principal, batch_id), ctx)
        if record.processing_status != "ended":
            raise InvalidRequestError(
                f"Batch {batch_id} cannot be deleted while it is {record.processing_status}; "
                "cancel it and wait until it has ended"
            )
        if self._governance is not None:
            await self._governance.before_batch_delete(record.id)
        # Already gone upstream is fine: forgetting it here is what the caller asked for.
        with contextlib.suppress(NotFoundError):
            await self._providers.get(record.provider).delete_batch(_ref(record), ctx)
        await self._store.batches.mark_deleted(record.id)
        return record

    async def results(self, principal: Principal, batch_id: str, ctx: CallContext) -> AsyncIterator[bytes]:
        record = await self._refresh(await self._owned(principal, batch_id), ctx)
        if record.processing_status != "ended":
            raise InvalidRequestError(f"Batch {batch_id} has not ended yet; its results are not available")
        return self._providers.get(record.provider).batch_results(_ref(record), ctx)

    async def results_once_ended(self, batch_id: str) -> AsyncIterator[bytes] | None:
        """For the cost reconciler (``finops.governance.reconciler.EndedBatchResults``): any owner's batch,
        deleted or not, since its cost is owed either way. ``None`` while it runs upstream."""
        # The intent's state is read before the batch row: the create commits the row and ends the intent in one
        # transaction, so read the other way round a create finishing between the two reads looked like a batch
        # that never existed, and its results went unbilled (recorded as no lines).
        creating = await self._store.intents.state_of_object(batch_id) == CREATING
        record = await self._store.batches.get_any(batch_id)
        if record is None:
            if creating:
                return None  # still being created (or waiting for recovery): its cost is not known yet
            return _no_lines()  # abandoned before anything was created: nothing to bill
        provider = self._providers.get(record.provider)
        ctx = CallContext(request_id=f"reconcile_{batch_id}")
        status = await provider.get_batch(_ref(record), ctx)
        if status.processing_status != "ended":
            return None
        return provider.batch_results(_ref(record), ctx)


async def _no_lines() -> AsyncIterator[bytes]:
    return
    yield


def _route(header_provider: str, requests: list[JSON]) -> tuple[str, list[JSON]]:
    """The batch's one provider and its requests with ``provider/`` model prefixes removed; requests going to
    different providers are refused."""
    provider: str | None = None
    routed: list[JSON] = []
    for index, request in enumerate(requests):
        params = request["params"]
        chosen, model = split_model(header_provider, params["model"])
        if provider is None:
            provider = chosen
        elif chosen != provider:
            raise InvalidRequestError(
                f"requests.{index}.params.model: {params['model']!r} goes to provider {chosen!r}, but "
                f"requests.0.params.model ({requests[0]['params']['model']!r}) goes to {provider!r}; a batch "
                "goes to one provider: send one batch per provider"
            )
        if model != params["model"]:
            request = {**request, "params": {**params, "model": model}}
        routed.append(request)
    return provider or header_provider, routed


def _normalized(request: JSON, provider: str) -> JSON:
    params = request["params"]
    normalized = normalize(params, column_for(provider, params["model"]))
    return request if normalized is params else {**request, "params": normalized}
