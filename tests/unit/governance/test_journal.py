"""The usage journal (``finops.governance.journal``): rows appended before answers end, forgotten once committed,
replayed exactly once from a process that died, never from one that lives."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from finops.config import parse_settings
from finops.governance.governor import Governance
from finops.governance.journal import (
    UsageJournal,
    decode_row,
    encode_row,
    journal_directory,
    replay_dead_segments,
)
from finops.governance.ledger import UsageLedger
from finops.governance.metrics import GatewayMetrics
from finops.governance.spend import SpendTracker
from finops.store import Store
from finops.store.tables import usage_records
from finops.store.usage import UsageRepository, UsageRow
from tests.support.usage import a_usage_row


def _row(index: int) -> UsageRow:
    return a_usage_row(
        index, provider="openai", model="gpt-4o-mini", cost_usd=Decimal("0.0000001234567891"), latency_ms=3, status=200
    )


def _segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.jsonl"))


async def _ledger_rows(store: Store) -> list[tuple[str, int, Decimal]]:
    async with store.engine.connect() as connection:
        result = await connection.execute(
            sa.select(usage_records.c.request_id, usage_records.c.input_tokens, usage_records.c.cost_usd)
        )
        return sorted((row[0], row[1], Decimal(row[2])) for row in result)


def test_a_line_decodes_to_the_row_it_was_to_the_last_digit() -> None:
    row = _row(7)
    assert decode_row(encode_row(row)) == row


def test_the_journal_lives_beside_a_sqlite_file_or_under_the_state_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert journal_directory(f"sqlite+aiosqlite:///{tmp_path}/x.db", None) == tmp_path / "x.db.ledger-journal"
    assert journal_directory("sqlite+aiosqlite:///:memory:", None) is None
    assert journal_directory("sqlite+aiosqlite://", None) is None
    assert journal_directory("sqlite+aiosqlite:///x.db", str(tmp_path / "mine")) == tmp_path / "mine"
    one = journal_directory("postgresql+asyncpg://u:secret@db/a", None)
    same_without_password = journal_directory("postgresql+asyncpg://u:other@db/a", None)
    other_database = journal_directory("postgresql+asyncpg://u:secret@db/b", None)
    assert one is not None and one.parent == tmp_path / "state" / "finops"
    assert one == same_without_password and one != other_database
    assert "secret" not in str(one)


def test_committed_rows_leave_the_journal(tmp_path: Path) -> None:
    async def run() -> tuple[list[int], int, list[int]]:
        journal = UsageJournal(tmp_path / "j", segment_bytes=2_000)
        journal.open()
        appended = [journal.append(_row(index)) for index in range(30)]  # ~300 bytes a line: several segments
        files_while_pending = len(_segments(tmp_path / "j"))
        for _, segment in appended[:-1]:
            journal.committed(segment)
        await journal.upkeep()  # what the background task does every second
        left = [os.path.getsize(path) for path in _segments(tmp_path / "j")]
        journal.committed(appended[-1][1])
        await journal.upkeep()
        emptied = [os.path.getsize(path) for path in _segments(tmp_path / "j")]
        await journal.close()
        return left, files_while_pending, emptied

    left, files_while_pending, emptied = asyncio.run(run())
    assert files_while_pending > 1
    assert len([size for size in left if size]) == 1  # only the segment holding the uncommitted row has rows
    assert emptied == [0]  # full segments are deleted once their rows are committed; the active one is empty
    assert _segments(tmp_path / "j") == []  # and a clean close deletes it


def test_a_dead_process_journal_is_replayed_once_and_a_live_one_never(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    # A process journals three rows, commits nothing and is killed: its flock goes with it.
    script = textwrap.dedent(
        f"""
        import os, signal
        from datetime import UTC, datetime
        from decimal import Decimal
        from pathlib import Path
        from finops.governance.journal import UsageJournal
        from finops.store.usage import UsageRow
        journal = UsageJournal(Path({str(directory)!r}))
        journal.open()
        for index in range(3):
            journal.append(UsageRow(datetime.now(UTC), "vk_dead", "dead", "key:vk_dead", "openai", "m", index, 1, 0, 0,
                                    Decimal("0.25"), request_id=f"dead_{{index}}"))
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    assert subprocess.run([sys.executable, "-c", script], check=False).returncode == -9

    async def run() -> tuple[int, int, list[tuple[str, int, Decimal]]]:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}")
        repository = UsageRepository(store.engine)
        live = UsageJournal(directory)  # this process's own journal, with a row not committed yet
        live.open()
        live.append(_row(1))
        first = await replay_dead_segments(directory, repository)
        second = await replay_dead_segments(directory, repository)
        rows = await _ledger_rows(store)
        await live.close()
        await store.close()
        return first, second, rows

    first, second, rows = asyncio.run(run())
    assert (first, second) == (3, 0)
    assert rows == [(f"dead_{index}", index, Decimal("0.25")) for index in range(3)]  # not req_1: its process lives


def test_replay_skips_rows_the_dead_process_had_committed(tmp_path: Path) -> None:
    """A process may die after its commit and before it emptied its journal: those rows are not inserted again."""

    async def run() -> list[tuple[str, int, Decimal]]:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}")
        repository = UsageRepository(store.engine)
        journal = UsageJournal(tmp_path / "journal")
        journal.open()
        rows = [journal.append(_row(index))[0] for index in range(5)]
        await repository.add_many(rows[:3])  # committed, then the process "dies" (its descriptors close)
        await journal.close()  # keeps the file: nothing was marked committed
        await replay_dead_segments(tmp_path / "journal", repository)
        found = await _ledger_rows(store)
        await store.close()
        return found

    found = asyncio.run(run())
    assert [request for request, _, _ in found] == [f"req_{index}" for index in range(5)]


def test_an_answer_waits_only_for_rows_that_must_be_committed_first(tmp_path: Path) -> None:
    async def run() -> tuple[bool, bool, bool, int]:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}")
        repository = UsageRepository(store.engine)
        journal = UsageJournal(tmp_path / "journal")
        journal.open()
        ledger = UsageLedger(repository, SpendTracker(repository), GatewayMetrics(), journaled_linger_seconds=60)
        ledger.attach(journal)
        ledger.start()
        journaled = ledger.record(_row(1))
        durable_at_once = journaled.done()
        must_commit = ledger.record(_row(2), commit_first=True)
        waited = must_commit.done()
        await asyncio.wait_for(must_commit, 5)  # no 60 s linger: a waiting answer hurries the write
        committed = len(await _ledger_rows(store))
        await ledger.stop()
        await journal.close()
        await store.close()
        return durable_at_once, waited, must_commit.done(), committed

    durable_at_once, waited, done, committed = asyncio.run(run())
    assert durable_at_once and not waited and done
    assert committed == 2  # the journaled row went with the hurried write
    assert _segments(tmp_path / "journal") == []  # a clean stop leaves no journal behind


def test_a_journal_that_cannot_be_opened_leaves_answers_waiting_for_the_database(tmp_path: Path) -> None:
    """A read-only volume must not keep the gateway from serving: rows are then committed before answers end."""
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the journal directory should be")
    settings = parse_settings(
        {
            "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}"},
            "governance": {"ledger_journal_dir": str(blocked / "journal")},
        }
    )

    async def run() -> tuple[bool, bool, int]:
        store = await Store.open(settings.database.url)
        governance = Governance(settings, store.engine)
        await governance.start()
        written = governance.ledger.record(_row(1))
        waits = not written.done()
        await governance.durable(written)
        committed = len(await _ledger_rows(store))
        journal_gone = governance.journal is None
        await governance.stop()
        await store.close()
        return journal_gone, waits, committed

    assert asyncio.run(run()) == (True, True, 1)
