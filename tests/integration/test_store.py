"""The store on SQLite and (when configured) PostgreSQL: same code, same answers."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime

from finops.store import Store
from finops.store.records import BatchRecord, FileRecord
from tests.support.records import running_batch


def _file(owner: str, index: int, provider: str = "anthropic") -> FileRecord:
    return FileRecord(
        id=f"file_{secrets.token_hex(8)}",
        provider=provider,
        upstream_id=f"up-{index}",
        owner=owner,
        filename=f"f{index}.txt",
        mime_type="text/plain",
        size_bytes=index,
        downloadable=False,
        created_at=datetime.now(UTC),
    )


def _batch(owner: str) -> BatchRecord:
    return running_batch(
        f"msgbatch_{secrets.token_hex(8)}",
        provider="openai",
        owner=owner,
        request_count=3,
        upstream_id="batch_up",
        upstream_state={"models": {"gpt-4o-mini": "batch_up"}, "order": ["a", "b", "c"]},
    )


def test_files_round_trip_page_and_isolate(database_url: str) -> None:
    async def scenario() -> None:
        store = await Store.open(database_url)
        await Store.open(database_url)  # migrating an up-to-date database again is a no-op
        try:
            owner, other = f"o-{secrets.token_hex(4)}", f"o-{secrets.token_hex(4)}"
            records = [_file(owner, index) for index in range(5)]
            for record in records:
                await store.files.add(record)
            await store.files.add(_file(other, 99))
            await store.files.add(_file(owner, 7, provider="openai"))

            fetched = await store.files.get(records[0].id, owner)
            assert fetched is not None and fetched.upstream_id == "up-0" and fetched.created_at.tzinfo is not None
            assert await store.files.get(records[0].id, other) is None

            newest_first = [r.id for r in reversed(records)]
            page = await store.files.list(owner, "anthropic", limit=2, after_id=None, before_id=None)
            assert [r.id for r in page.data] == newest_first[:2] and page.has_more
            page = await store.files.list(owner, "anthropic", limit=2, after_id=newest_first[1], before_id=None)
            assert [r.id for r in page.data] == newest_first[2:4] and page.has_more
            page = await store.files.list(owner, "anthropic", limit=2, after_id=newest_first[3], before_id=None)
            assert [r.id for r in page.data] == newest_first[4:] and not page.has_more
            page = await store.files.list(owner, "anthropic", limit=2, after_id=None, before_id=newest_first[4])
            assert [r.id for r in page.data] == newest_first[2:4] and page.has_more
            foreign = await store.files.list(other, "anthropic", limit=10, after_id=newest_first[0], before_id=None)
            assert foreign.data == []

            await store.files.mark_deleted(records[0].id)
            assert await store.files.get(records[0].id, owner) is None
            page = await store.files.list(owner, "anthropic", limit=10, after_id=None, before_id=None)
            assert records[0].id not in [r.id for r in page.data] and len(page.data) == 4
        finally:
            await store.close()

    asyncio.run(scenario())


def test_batches_keep_upstream_state_and_status(database_url: str) -> None:
    async def scenario() -> None:
        store = await Store.open(database_url)
        try:
            owner = f"o-{secrets.token_hex(4)}"
            record = _batch(owner)
            await store.batches.add(record)
            ended = datetime.now(UTC)
            counts = {"processing": 0, "succeeded": 2, "errored": 1, "canceled": 0, "expired": 0}
            await store.batches.update_status(
                record.id, processing_status="ended", request_counts=counts, ended_at=ended, cancel_initiated_at=None
            )
            fetched = await store.batches.get(record.id, owner)
            assert fetched is not None
            assert fetched.upstream_state == record.upstream_state
            assert fetched.processing_status == "ended" and fetched.request_counts == counts
            assert fetched.ended_at is not None and abs((fetched.ended_at - ended).total_seconds()) < 1
        finally:
            await store.close()

    asyncio.run(scenario())
