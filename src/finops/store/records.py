"""Plain records the repositories hand out (no SQLAlchemy types leak past ``finops.store``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time the gateway stores is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class FileRecord:
    id: str
    provider: str
    upstream_id: str
    owner: str
    filename: str
    mime_type: str
    size_bytes: int
    downloadable: bool
    created_at: datetime


@dataclass(frozen=True)
class BatchRecord:
    id: str
    provider: str
    upstream_id: str
    owner: str
    request_count: int
    upstream_state: dict[str, Any]
    processing_status: str
    request_counts: dict[str, int]
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    cancel_initiated_at: datetime | None
    archived_at: datetime | None


@dataclass(frozen=True)
class Page(Generic[T]):
    data: list[T]
    has_more: bool
