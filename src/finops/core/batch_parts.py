"""The upstream batches behind one gateway batch, each with its own live status (the console's batch page).

OpenAI and Gemini batches are split per model (and OpenAI's again by size); the adapter keeps them as
``state["parts"]`` and merges their statuses into one. Asking the adapter about a reference that holds a single
part gives that part's own status, so nothing here depends on a provider's bookkeeping beyond that list.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from finops.core.errors import GatewayError
from finops.core.types import JSON
from finops.providers.base import BatchRef, BatchStatus, CallContext
from finops.providers.registry import ProviderRegistry
from finops.store.records import BatchRecord

_CONCURRENCY = 8


@dataclass(frozen=True)
class BatchPart:
    number: int
    model: str | None
    status: BatchStatus | None
    error: str | None
    upstream_ids: dict[str, str]
    """The provider's own identifiers (batch, operation, files): for the gateway's operator only."""


def _upstream_ids(part: JSON) -> dict[str, str]:
    return {name: value for name, value in part.items() if isinstance(value, str) and name != "model"}


class BatchParts:
    def __init__(self, providers: ProviderRegistry) -> None:
        self._providers = providers

    async def parts(self, record: BatchRecord, ctx: CallContext) -> list[BatchPart]:
        provider = self._providers.get(record.provider)
        stored = record.upstream_state.get("parts")
        parts: list[JSON] = [part for part in stored if isinstance(part, dict)] if isinstance(stored, list) else []
        whole = BatchRef(
            upstream_id=record.upstream_id,
            state=record.upstream_state,
            request_count=record.request_count,
            created_at=record.created_at,
            cancel_requested=record.cancel_initiated_at is not None,
        )
        if not parts:
            refs: list[tuple[JSON, BatchRef]] = [({"batch_id": record.upstream_id}, whole)]
        else:
            refs = [(part, replace(whole, state={**record.upstream_state, "parts": [part]})) for part in parts]
        semaphore = asyncio.Semaphore(_CONCURRENCY)

        async def status(number: int, part: JSON, ref: BatchRef) -> BatchPart:
            model: Any = part.get("model")
            async with semaphore:
                try:
                    found = await provider.get_batch(ref, ctx)
                except GatewayError as exc:
                    return BatchPart(number, model, None, exc.message, _upstream_ids(part))
            return BatchPart(number, model, found, None, _upstream_ids(part))

        return list(await asyncio.gather(*(status(n, part, ref) for n, (part, ref) in enumerate(refs, start=1))))
