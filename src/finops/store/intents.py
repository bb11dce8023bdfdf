"""The intent log (issue 13): every upstream create is announced here, committed, before the upstream call.

An intent is opened (state ``creating``) in one transaction with what must exist before money can be spent: a
batch's reservation (its ``batch_costs`` row), checked against the key's budget while the key's row is locked, so
parallel creates on one budget are admitted one at a time (PostgreSQL: row lock; SQLite: the write lock the first
UPDATE takes, held to the commit). It is completed (``done``) in the transaction that inserts the gateway's own
row, or ``abandoned`` (its reservation released) when the create failed or recovery removed the upstream object.
Both transitions are conditional on ``creating``: the create path and a recovery pass cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from finops.core.ids import new_intent_key
from finops.store.batches import insert_batch
from finops.store.files import insert_file
from finops.store.records import BatchRecord, FileRecord, as_utc
from finops.store.tables import batch_costs, upstream_intents, virtual_keys
from finops.store.usage import PendingBatch, insert_pending_batch, spend_since

CREATING = "creating"
DONE = "done"
ABANDONED = "abandoned"


@dataclass(frozen=True)
class Intent:
    id: str
    kind: str  # "batch" | "file"
    provider: str
    owner: str
    object_id: str
    upstream_key: str
    """Sent upstream (metadata, display name, file name) so recovery can find what this create made."""
    process: str
    created_at: datetime
    request_count: int | None = None
    filename: str | None = None
    size_bytes: int | None = None
    state: str = CREATING


@dataclass(frozen=True)
class Budget:
    key_id: str
    limit: Decimal
    since: datetime | None


class BudgetRefused(Exception):
    def __init__(self, spent: Decimal) -> None:
        super().__init__(f"spent {spent}")
        self.spent = spent


class IntentLost(Exception):
    """The intent is no longer ``creating``: a recovery pass took it (its process looked dead)."""


def _intent(row: sa.Row[Any]) -> Intent:
    return Intent(
        id=row.id,
        kind=row.kind,
        provider=row.provider,
        owner=row.owner,
        object_id=row.object_id,
        upstream_key=row.upstream_key,
        process=row.process,
        created_at=as_utc(row.created_at),  # type: ignore[arg-type]
        request_count=row.request_count,
        filename=row.filename,
        size_bytes=row.size_bytes,
        state=row.state,
    )


async def _finish(connection: AsyncConnection, intent_id: str, state: str) -> bool:
    result = await connection.execute(
        upstream_intents.update()
        .where(upstream_intents.c.id == intent_id, upstream_intents.c.state == CREATING)
        .values(state=state, finished_at=datetime.now(UTC))
    )
    return bool(result.rowcount == 1)


async def _reserve(connection: AsyncConnection, budget: Budget, amount: Decimal) -> None:
    # Lock the key first: a no-op UPDATE takes PostgreSQL's row lock and SQLite's database write lock, so the
    # spend read below cannot change under this transaction until it commits.
    await connection.execute(
        virtual_keys.update().where(virtual_keys.c.id == budget.key_id).values(updated_at=virtual_keys.c.updated_at)
    )
    spent = await spend_since(connection, budget.key_id, budget.since)
    if spent + amount > budget.limit:
        raise BudgetRefused(spent)


def new_intent(
    process: str,
    kind: str,
    provider: str,
    owner: str,
    object_id: str,
    request_count: int | None = None,
    *,
    filename: str | None = None,
    size_bytes: int | None = None,
) -> Intent:
    key = new_intent_key()
    return Intent(
        id=key,
        kind=kind,
        provider=provider,
        owner=owner,
        object_id=object_id,
        upstream_key=key,
        process=process,
        created_at=datetime.now(UTC),
        request_count=request_count,
        filename=filename,
        size_bytes=size_bytes,
    )


class IntentRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def open(
        self, intent: Intent, *, reservation: PendingBatch | None = None, budget: Budget | None = None
    ) -> None:
        """Commit the intent (and the batch's reservation, if it fits ``budget``). Raises ``BudgetRefused``."""
        async with self._engine.begin() as connection:
            if budget is not None:
                amount = reservation.reserved_usd if reservation is not None else None
                await _reserve(connection, budget, amount or Decimal(0))
            if reservation is not None:
                await insert_pending_batch(connection, reservation, intent.created_at)
            await connection.execute(upstream_intents.insert().values(**intent.__dict__))

    async def complete_batch(self, intent_id: str, record: BatchRecord) -> None:
        """The batch row and the intent's completion, one transaction (its cost row was written at ``open``)."""
        async with self._engine.begin() as connection:
            if not await _finish(connection, intent_id, DONE):
                raise IntentLost(intent_id)
            await insert_batch(connection, record)

    async def complete_file(self, intent_id: str, record: FileRecord) -> None:
        async with self._engine.begin() as connection:
            if not await _finish(connection, intent_id, DONE):
                raise IntentLost(intent_id)
            await insert_file(connection, record)

    async def abandon(self, intent: Intent) -> bool:
        """Mark it abandoned and release its batch's reservation; False if it was not ``creating`` any more."""
        async with self._engine.begin() as connection:
            if not await _finish(connection, intent.id, ABANDONED):
                return False
            if intent.kind == "batch":
                await connection.execute(
                    batch_costs.delete().where(
                        batch_costs.c.batch_id == intent.object_id, batch_costs.c.usage_recorded_at.is_(None)
                    )
                )
        return True

    async def creating(self, limit: int = 100) -> list[Intent]:
        """Open intents, oldest first."""
        query = (
            sa.select(upstream_intents)
            .where(upstream_intents.c.state == CREATING)
            .order_by(upstream_intents.c.created_at)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return [_intent(row) for row in (await connection.execute(query)).all()]

    async def state_of_object(self, object_id: str) -> str | None:
        """The state of the newest intent that creates ``object_id`` (``None``: created before the intent log)."""
        query = (
            sa.select(upstream_intents.c.state)
            .where(upstream_intents.c.object_id == object_id)
            .order_by(upstream_intents.c.created_at.desc())
            .limit(1)
        )
        async with self._engine.connect() as connection:
            state = (await connection.execute(query)).scalar()
        return str(state) if state is not None else None
