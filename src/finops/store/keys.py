"""Virtual keys: only the sha256 of the secret is stored, so a key can be checked but never read back."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from finops.store.records import as_utc
from finops.store.tables import virtual_keys


@dataclass(frozen=True)
class VirtualKeyRecord:
    id: str
    name: str
    key_hash: str
    key_prefix: str
    budget_usd: Decimal | None
    budget_period: str | None
    rpm: int | None
    tpm: int | None
    providers: list[str] | None
    models: list[str] | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    revoked_at: datetime | None
    cache: dict[str, Any] | None = None
    """Response-cache settings for this key (``mode``, ``ttl_seconds``, ``threshold``, ``store_truncated``)."""

    def with_changes(self, **changes: Any) -> VirtualKeyRecord:
        return replace(self, **changes)


def _json_list(value: str | None) -> list[str] | None:
    return None if value is None else list(orjson.loads(value))


def _record(row: sa.Row[Any]) -> VirtualKeyRecord:
    return VirtualKeyRecord(
        id=row.id,
        name=row.name,
        key_hash=row.key_hash,
        key_prefix=row.key_prefix,
        budget_usd=Decimal(row.budget_usd) if row.budget_usd is not None else None,
        budget_period=row.budget_period,
        rpm=row.rpm,
        tpm=row.tpm,
        providers=_json_list(row.providers),
        models=_json_list(row.models),
        expires_at=as_utc(row.expires_at),
        created_at=as_utc(row.created_at),  # type: ignore[arg-type]
        updated_at=as_utc(row.updated_at),  # type: ignore[arg-type]
        revoked_at=as_utc(row.revoked_at),
        cache=orjson.loads(row.cache) if row.cache else None,
    )


def _values(record: VirtualKeyRecord) -> dict[str, Any]:
    values = dict(record.__dict__)
    for name in ("providers", "models", "cache"):
        values[name] = None if values[name] is None else orjson.dumps(values[name]).decode()
    return values


class KeyRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, record: VirtualKeyRecord) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(virtual_keys.insert().values(**_values(record)))

    async def save(self, record: VirtualKeyRecord) -> None:
        values = _values(record)
        values.pop("id")
        values.pop("key_hash")
        async with self._engine.begin() as connection:
            await connection.execute(virtual_keys.update().where(virtual_keys.c.id == record.id).values(**values))

    async def get(self, key_id: str) -> VirtualKeyRecord | None:
        async with self._engine.connect() as connection:
            row = (await connection.execute(sa.select(virtual_keys).where(virtual_keys.c.id == key_id))).first()
        return _record(row) if row else None

    async def by_hash(self, key_hash: str) -> VirtualKeyRecord | None:
        query = sa.select(virtual_keys).where(virtual_keys.c.key_hash == key_hash)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return _record(row) if row else None

    async def list(self, *, include_revoked: bool = True) -> list[VirtualKeyRecord]:
        query = sa.select(virtual_keys).order_by(virtual_keys.c.created_at, virtual_keys.c.id)
        if not include_revoked:
            query = query.where(virtual_keys.c.revoked_at.is_(None))
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [_record(row) for row in rows]
