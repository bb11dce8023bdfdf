"""Persistence: SQLAlchemy Core tables, repositories and Alembic migrations (SQLite or PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from finops.store.batches import BatchRepository
from finops.store.db import create_engine, migrate
from finops.store.files import FileRepository
from finops.store.intents import IntentRepository


@dataclass
class Store:
    engine: AsyncEngine
    files: FileRepository
    batches: BatchRepository
    intents: IntentRepository

    @classmethod
    async def open(cls, url: str) -> Store:
        engine = create_engine(url)
        await migrate(engine)
        return cls(
            engine=engine,
            files=FileRepository(engine),
            batches=BatchRepository(engine),
            intents=IntentRepository(engine),
        )

    async def close(self) -> None:
        await self.engine.dispose()


__all__ = ["BatchRepository", "FileRepository", "IntentRepository", "Store"]
