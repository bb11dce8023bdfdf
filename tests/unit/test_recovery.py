"""The intent log's recovery pass (``finops.core.recovery``) on a real SQLite store, with a fake provider: which
intents it settles (dead process, old enough), which it leaves (live, or confusable with a live create), that an
abandon releases the batch's reservation, and the spool sweep by pid. Plus the Anthropic heuristic's match rule."""

from __future__ import annotations

import asyncio
import os
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from finops.core.recovery import Recovery, remove_dead_spools
from finops.providers.anthropic.recovery import matches
from finops.providers.base import CallContext, CreateIntent
from finops.providers.registry import ProviderRegistry
from finops.store import Store
from finops.store.intents import Intent, new_intent
from finops.store.usage import PendingBatch


class _Provider:
    name = "fake"

    def __init__(self) -> None:
        self.searched: list[CreateIntent] = []

    async def remove_created(self, intent: CreateIntent, ctx: CallContext) -> int:
        self.searched.append(intent)
        return 1


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_spools_of_dead_processes_go_and_live_ones_stay(tmp_path: Path) -> None:
    live = tmp_path / f"finops-openai-batch-{os.getpid()}-abc"
    dead = tmp_path / f"finops-openai-batch-{_dead_pid()}-def"
    other = tmp_path / "finops-something-else"
    for directory in (live, dead, other):
        directory.mkdir()
        (directory / "part-0.jsonl").write_bytes(b"{}\n")
    assert remove_dead_spools(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


def _intent(process: str, *, count: int = 3, minutes_ago: float = 0) -> Intent:
    intent = new_intent(process, "batch", "fake", "key:k", f"msgbatch_{process}", count)
    return Intent(**{**intent.__dict__, "created_at": datetime.now(UTC) - timedelta(minutes=minutes_ago)})


def test_recovery_settles_dead_creates_and_waits_for_confusable_live_ones(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
        provider = _Provider()
        registry = ProviderRegistry({"fake": provider})  # type: ignore[dict-item]
        dead, confusable, live, old = (
            _intent("dead"),
            _intent("dead-too", count=7),
            _intent("live", count=7),
            _intent("elsewhere", count=9, minutes_ago=200),
        )
        for intent in (dead, confusable, live, old):
            reservation = PendingBatch(intent.object_id, None, None, "key:k", "fake", Decimal("0.5"))
            await store.intents.open(intent, reservation=reservation)
        recovery = Recovery(
            store,
            registry,
            process_gone=lambda process: process.startswith("dead"),
            spool_directory=tmp_path,
        )
        assert await recovery.run_once() == 2  # "dead" and the 200-minute-old one
        assert sorted(i.upstream_key for i in provider.searched) == sorted([dead.upstream_key, old.upstream_key])
        assert sorted(i.id for i in await store.intents.creating()) == sorted([confusable.id, live.id])
        assert await store.intents.state_of_object(dead.object_id) == "abandoned"
        async with store.engine.connect() as connection:
            left = {row[0] for row in await connection.execute(sa.text("SELECT batch_id FROM batch_costs"))}
        assert left == {confusable.object_id, live.object_id}  # released with their abandoned intents
        await store.close()

    asyncio.run(scenario())


def test_anthropic_heuristic_match() -> None:
    now = datetime.now(UTC)
    intent = CreateIntent("batch", "finops-x", now, 3, known_upstream_ids=frozenset({"msgbatch_known"}))

    def batch(batch_id: str, seconds: float, count: int) -> dict[str, object]:
        created = (now + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")
        return {"id": batch_id, "created_at": created, "request_counts": {"processing": count, "succeeded": 0}}

    assert matches(batch("msgbatch_a", 2, 3), intent)
    assert not matches(batch("msgbatch_known", 2, 3), intent)  # the gateway has a row for it
    assert not matches(batch("msgbatch_b", 2, 4), intent)  # another request count
    assert not matches(batch("msgbatch_c", 3600, 3), intent)  # an hour apart

    upload = CreateIntent("file", "finops-y", now, filename="notes.txt", size_bytes=18)
    file = {"id": "file_a", "created_at": now.isoformat(), "filename": "notes.txt", "size_bytes": 18}
    assert matches(file, upload)
    assert not matches({**file, "size_bytes": 19}, upload)
    assert not matches({**file, "filename": "other.txt"}, upload)
