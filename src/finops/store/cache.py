"""Cached answers in the gateway's store: the copy every gateway process shares.

Each process mirrors the entries in memory and catches up on new ones by their ``seq``. Sequence numbers are
handed out when a row is inserted but become visible when its transaction commits, so on PostgreSQL a smaller one
can appear after a larger one: ``new_since`` therefore lists the seqs of rows younger than a settling window again
on every call, and the caller skips the ones it has seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from finops.store.tables import cache_entries

_SELECT_CHUNK = 500
"""Rows fetched per statement when catching up (bounded parameters on every database)."""


@dataclass(frozen=True)
class NewCacheEntry:
    namespace: str
    exact_key: str
    context_key: str | None
    provider: str
    model: str
    message: bytes
    embedding: str | None
    vector: bytes | None
    created_at: float
    expires_at: float


@dataclass(frozen=True)
class CacheEntryHead:
    """What a process keeps in memory about an entry (its answer is read when it is hit)."""

    seq: int
    exact_key: str
    context_key: str | None
    embedding: str | None
    vector: bytes | None
    created_at: float
    expires_at: float


@dataclass(frozen=True)
class CachedAnswer:
    seq: int
    message: bytes
    expires_at: float


def _head(row: Any) -> CacheEntryHead:
    return CacheEntryHead(
        seq=row.seq,
        exact_key=row.exact_key,
        context_key=row.context_key,
        embedding=row.embedding,
        vector=row.vector,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


_HEAD_COLUMNS = (
    cache_entries.c.seq,
    cache_entries.c.exact_key,
    cache_entries.c.context_key,
    cache_entries.c.embedding,
    cache_entries.c.vector,
    cache_entries.c.created_at,
    cache_entries.c.expires_at,
)


class CacheRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def put(self, entry: NewCacheEntry) -> int | None:
        """Store ``entry``, replacing an entry of the same key; ``None`` when another process stored the same key
        at the same moment (its entry stays)."""
        values = {**entry.__dict__, "last_used_at": entry.created_at, "hits": 0}
        try:
            async with self._engine.begin() as connection:
                await connection.execute(cache_entries.delete().where(cache_entries.c.exact_key == entry.exact_key))
                result = await connection.execute(cache_entries.insert().values(**values))
        except IntegrityError:
            return None
        key = result.inserted_primary_key
        return int(key[0]) if key else None

    async def put_many(self, entries: Sequence[NewCacheEntry]) -> dict[str, int]:
        """Store ``entries`` in one transaction (each replacing an entry of its key); answers exact key -> seq.
        If another process stored one of the keys at the same moment, they are stored one by one instead, and
        that key keeps the other process's entry (it is left out of the answer)."""
        latest = {entry.exact_key: entry for entry in entries}  # the same key twice: the last one wins
        rows = [{**entry.__dict__, "last_used_at": entry.created_at, "hits": 0} for entry in latest.values()]
        if not rows:
            return {}
        keys = list(latest)
        try:
            async with self._engine.begin() as connection:
                for start in range(0, len(keys), _SELECT_CHUNK):
                    chunk = keys[start : start + _SELECT_CHUNK]
                    await connection.execute(cache_entries.delete().where(cache_entries.c.exact_key.in_(chunk)))
                inserted = await connection.execute(
                    cache_entries.insert().returning(cache_entries.c.seq, cache_entries.c.exact_key), rows
                )
                return {row.exact_key: int(row.seq) for row in inserted.all()}
        except IntegrityError:
            stored = {}
            for entry in latest.values():
                seq = await self.put(entry)
                if seq is not None:
                    stored[entry.exact_key] = seq
            return stored

    async def answer(self, seq: int, now: float) -> CachedAnswer | None:
        query = sa.select(cache_entries.c.seq, cache_entries.c.message, cache_entries.c.expires_at).where(
            cache_entries.c.seq == seq, cache_entries.c.expires_at > now
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return CachedAnswer(row.seq, row.message, row.expires_at) if row else None

    async def new_since(self, settled: int, settle_before: float) -> tuple[list[int], int]:
        """The seqs above ``settled`` and the new settled mark: the largest seq of a row created before
        ``settle_before`` (rows after it may still be joined by smaller seqs committing late)."""
        query = sa.select(cache_entries.c.seq, cache_entries.c.created_at).where(cache_entries.c.seq > settled)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query.order_by(cache_entries.c.seq))).all()
        mark = settled
        for row in rows:
            if row.created_at < settle_before:
                mark = max(mark, row.seq)
            else:
                break
        return [row.seq for row in rows], mark

    async def heads(self, seqs: Sequence[int], now: float) -> list[CacheEntryHead]:
        heads: list[CacheEntryHead] = []
        async with self._engine.connect() as connection:
            for start in range(0, len(seqs), _SELECT_CHUNK):
                chunk = seqs[start : start + _SELECT_CHUNK]
                query = sa.select(*_HEAD_COLUMNS).where(
                    cache_entries.c.seq.in_(chunk), cache_entries.c.expires_at > now
                )
                heads.extend(_head(row) for row in (await connection.execute(query)).all())
        return heads

    async def touch(self, used: Iterable[tuple[int, float, int]]) -> None:
        """Record hits: (seq, last used at, hits since the last call)."""
        rows = [{"key": seq, "used": at, "count": count} for seq, at, count in used]
        if not rows:
            return
        statement = (
            cache_entries.update()
            .where(cache_entries.c.seq == sa.bindparam("key"))
            .values(
                last_used_at=sa.func.max(cache_entries.c.last_used_at, sa.bindparam("used"))
                if self._engine.dialect.name == "sqlite"
                else sa.func.greatest(cache_entries.c.last_used_at, sa.bindparam("used")),
                hits=cache_entries.c.hits + sa.bindparam("count"),
            )
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement, rows)

    async def evict(self, now: float, max_entries: int) -> list[tuple[int, str]]:
        """Delete expired entries and, past ``max_entries``, the least recently used; answers (seq, exact key)
        of what went."""
        async with self._engine.begin() as connection:
            expired = (
                await connection.execute(
                    sa.select(cache_entries.c.seq, cache_entries.c.exact_key).where(cache_entries.c.expires_at <= now)
                )
            ).all()
            gone = [(row.seq, row.exact_key) for row in expired]
            if gone:
                await connection.execute(cache_entries.delete().where(cache_entries.c.expires_at <= now))
            count = (await connection.execute(sa.select(sa.func.count()).select_from(cache_entries))).scalar_one()
            over = int(count) - max_entries
            if over > 0:
                oldest = (
                    await connection.execute(
                        sa.select(cache_entries.c.seq, cache_entries.c.exact_key)
                        .order_by(cache_entries.c.last_used_at, cache_entries.c.seq)
                        .limit(over)
                    )
                ).all()
                seqs = [row.seq for row in oldest]
                for start in range(0, len(seqs), _SELECT_CHUNK):
                    await connection.execute(
                        cache_entries.delete().where(cache_entries.c.seq.in_(seqs[start : start + _SELECT_CHUNK]))
                    )
                gone.extend((row.seq, row.exact_key) for row in oldest)
        return gone
