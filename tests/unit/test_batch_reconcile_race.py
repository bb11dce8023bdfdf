"""A batch whose create commits while the cost reconciler looks at it is still billed.

The reconciler polls every batch with a reservation, and a batch has one from the moment its intent is committed,
before the upstream create. The create then writes the batch row and ends the intent in one transaction. A
reconciler round that read "no batch row" before that commit and "intent done" after it once took the batch for
one that never existed and recorded it with no usage: its results were never billed (seen in CI as a key whose
batch never showed in its spend). Here the commit lands right after the reconciler's first read, every time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from finops.core.batches import BatchService
from finops.core.types import Principal
from finops.governance.reconciler import BatchReconciler
from finops.providers.base import BatchRef, BatchStatus, CallContext
from finops.providers.registry import ProviderRegistry
from finops.store import Store
from finops.store.intents import new_intent
from finops.store.usage import PendingBatch, UsageRepository
from tests.support.records import running_batch

_USAGE = {"input_tokens": 120, "output_tokens": 30, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


class _EndedUpstream:
    """A provider whose batch has ended with one succeeded request."""

    name = "fake"

    async def get_batch(self, ref: BatchRef, ctx: CallContext) -> BatchStatus:
        return BatchStatus("ended", {"processing": 0, "succeeded": 1, "errored": 0, "canceled": 0, "expired": 0})

    async def batch_results(self, ref: BatchRef, ctx: CallContext) -> AsyncIterator[bytes]:
        message = {"id": "msg_1", "type": "message", "model": "claude-3-5-haiku-20241022", "usage": _USAGE}
        yield orjson.dumps({"custom_id": "q1", "result": {"type": "succeeded", "message": message}}) + b"\n"


def _commit_after_first_read(store: Store, commit: Callable[[], Awaitable[None]], monkeypatch: Any) -> None:
    """Whichever of the two reads the reconciler makes first, the create's commit lands right after it."""
    state = {"committed": False}

    def after(read: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def read_then_commit(*args: Any) -> Any:
            value = await read(*args)
            if not state["committed"]:
                state["committed"] = True
                await commit()
            return value

        return read_then_commit

    monkeypatch.setattr(store.batches, "get_any", after(store.batches.get_any))
    monkeypatch.setattr(store.intents, "state_of_object", after(store.intents.state_of_object))


def test_a_batch_created_during_a_reconciler_round_is_billed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> list[tuple[Any, ...]]:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'race.db'}")
        registry = ProviderRegistry({"fake": _EndedUpstream()})  # type: ignore[dict-item]
        usage = UsageRepository(store.engine)
        principal = Principal(owner="key:k", key_id="k", key_name="team")
        intent = new_intent("proc", "batch", "fake", principal.owner, "msgbatch_race", 1)
        reservation = PendingBatch(intent.object_id, "k", "team", principal.owner, "fake", Decimal("0.01"))
        await store.intents.open(intent, reservation=reservation)  # as BatchService does before the upstream call

        record = running_batch(
            intent.object_id,
            provider="fake",
            owner=principal.owner,
            request_count=1,
            upstream_id="upstream-1",
            upstream_state={},
        )
        _commit_after_first_read(store, lambda: store.intents.complete_batch(intent.id, record), monkeypatch)

        reconciler = BatchReconciler(usage, BatchService(store, registry), lambda *_: None, interval=0.01)
        for _ in range(50):  # a round that finds it still being created puts it back for a later one
            if await reconciler.run_once():
                break
            await asyncio.sleep(0.01)
        async with store.engine.connect() as connection:
            rows = list(
                await connection.execute(
                    sa.text("SELECT request_id, input_tokens, output_tokens FROM usage_records WHERE batch_id = :b"),
                    {"b": intent.object_id},
                )
            )
        await store.close()
        return [tuple(row) for row in rows]

    assert asyncio.run(scenario()) == [("q1", 120, 30)]
