"""A local, append-only journal of usage rows: what makes an answered request's ledger row survive ``kill -9``
without the answer waiting for the database.

Every row is appended (one ``write`` system call) before its answer's last byte leaves. A write that returned is
in the kernel's page cache: it outlives the process however it dies (kill -9, the OOM killer, a crash), and it is
flushed to disk within ``fsync_seconds`` (a crash of the whole machine can lose that window, no more). The
database gets the rows behind the answers, in batches (``UsageLedger``); a segment is emptied once every row in it
is committed.

Each process writes its own segment files, ``<pid>-<random>.jsonl``, and holds an exclusive ``flock`` on each
while it lives. The kernel drops the lock when the process dies, whatever kills it: a segment whose lock can be
taken belongs to a dead process. ``replay_dead_segments`` inserts the rows of such a segment that the ledger does
not have (entry ids make replay idempotent: a process may die after its commit and before emptying its segment)
and deletes it. Segments live on this machine's disk, so every process replays (at start-up and periodically):
the process holding the background lease may run on another host.

POSIX only (``fcntl.flock``), like the rest of ``finops serve``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import secrets
from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.engine import make_url

from finops.store.usage import UsageRepository, UsageRow

logger = logging.getLogger("finops.governance.journal")

_SUFFIX = ".jsonl"
_ROW_FIELDS = frozenset(field.name for field in fields(UsageRow))
_DECIMALS = ("cost_usd", "saved_usd")


def journal_directory(database_url: str, configured: str | None) -> Path | None:
    """Where this database's journal lives: ``configured``, else beside a SQLite file (``<file>.ledger-journal``),
    else under ``$XDG_STATE_HOME/finops`` (``~/.local/state``) in a directory named after the database, so that
    a journal is only ever replayed into the database it was written for. ``None`` for an in-memory SQLite
    database: nothing of it survives the process anyway."""
    if configured:
        return Path(configured)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file::memory:"):
            return None
        database = Path(url.database)
        return database.with_name(f"{database.name}.ledger-journal")
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    name = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return state / "finops" / f"ledger-{name}"


def encode_row(row: UsageRow) -> bytes:
    """One journal line: the row as JSON (decimals as strings, so no cent is rounded away)."""
    return orjson.dumps(row.__dict__, default=str, option=orjson.OPT_APPEND_NEWLINE)


def decode_row(line: bytes) -> UsageRow:
    data: dict[str, Any] = {name: value for name, value in orjson.loads(line).items() if name in _ROW_FIELDS}
    data["created_at"] = datetime.fromisoformat(data["created_at"])
    for name in _DECIMALS:
        if data.get(name) is not None:
            data[name] = Decimal(data[name])
    return UsageRow(**data)


@dataclass(eq=False)
class Segment:
    """One journal file of this process. ``pending`` rows were appended and are not committed yet; ``kept``
    means the ledger gave up on a row of it, so the file stays for the next process to replay."""

    path: Path
    fd: int
    prefix: str
    appended: int = 0
    pending: int = 0
    size: int = 0
    unsynced: bool = False
    kept: bool = False


class UsageJournal:
    def __init__(self, directory: Path, *, fsync_seconds: float = 1.0, segment_bytes: int = 4 * 1024 * 1024) -> None:
        self.directory = directory
        self._fsync_seconds = fsync_seconds
        self._segment_bytes = segment_bytes
        self._active: Segment | None = None
        self._sealed: list[Segment] = []
        self._task: asyncio.Task[None] | None = None

    # Writing (on the event loop: a row's write returns before its answer ends) ------------------------------

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._active = self._new_segment()

    def _new_segment(self) -> Segment:
        token = secrets.token_hex(8)
        path = self.directory / f"{os.getpid()}-{token}{_SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else can hold it
        return Segment(path, fd, prefix=token)

    def append(self, row: UsageRow) -> tuple[UsageRow, Segment]:
        """The row with its entry id, once it is in the journal. Raises ``OSError`` (disk full, …): the caller then
        waits for the database instead."""
        segment = self._active
        if segment is None:
            raise OSError("the usage journal is not open")
        segment.appended += 1
        row = replace(row, entry_id=f"{segment.prefix}{segment.appended:x}")
        data = encode_row(row)
        left = memoryview(data)
        try:
            while left:  # a regular file takes the whole line at once unless the disk is full
                left = left[os.write(segment.fd, left) :]
        except OSError:
            if len(left) != len(data):
                self._seal(segment)  # a cut line: the next row must not be glued to it
            raise
        segment.pending += 1
        segment.size += len(data)
        segment.unsynced = True
        if segment.size >= self._segment_bytes:
            # Under steady traffic a segment may never be empty at a tidy-up: new rows go to a fresh one, and the
            # full one is deleted once its rows are committed.
            self._seal(segment)
        return row, segment

    def _seal(self, segment: Segment) -> None:
        self._sealed.append(segment)
        self._active = self._new_segment()

    @staticmethod
    def committed(segment: Segment, count: int = 1) -> None:
        segment.pending -= count

    @staticmethod
    def keep(segment: Segment) -> None:
        segment.kept = True

    # Upkeep (one task: files are synced, emptied and closed only here, never while a sync uses them) ----------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="finops-usage-journal")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._fsync_seconds)
            await self.upkeep()

    async def upkeep(self) -> None:
        """Flush to disk what was appended since the last time, then delete or empty what is all committed."""
        await self._sync()
        self._tidy()

    async def _sync(self) -> None:
        segments = [segment for segment in self._segments() if segment.unsynced]
        for segment in segments:
            segment.unsynced = False
        if segments:
            try:
                await asyncio.to_thread(_fsync_all, [segment.fd for segment in segments])
            except OSError:
                logger.exception("syncing the usage journal failed")

    def _segments(self) -> list[Segment]:
        return [*self._sealed, *([self._active] if self._active is not None else [])]

    def _tidy(self) -> None:
        """Delete sealed segments whose rows are all committed, and empty the active one when it has no pending
        row (a sync or a commit since the check cannot interleave: both run on this loop)."""
        for segment in list(self._sealed):
            if segment.pending == 0 and not segment.kept:
                self._sealed.remove(segment)
                segment.path.unlink(missing_ok=True)
                os.close(segment.fd)
        active = self._active
        if active is not None and active.pending == 0 and active.size and not active.kept:
            os.ftruncate(active.fd, 0)
            active.size = 0

    async def close(self) -> None:
        """After the ledger drained: sync, delete what is committed, and close. Segments with rows the ledger
        could not write stay on disk (their locks go with the process): the next process replays them."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._sync()
        active = self._active
        self._active = None
        if active is not None:
            self._sealed.append(active)
        self._tidy()
        for segment in self._sealed:
            os.close(segment.fd)
        self._sealed.clear()


def _fsync_all(fds: list[int]) -> None:
    for fd in fds:
        os.fsync(fd)


def _read_dead_segment(path: Path) -> tuple[int, list[UsageRow]] | None:
    """Open ``path`` and take its lock: ``None`` if its process still holds it (or the file is gone). Otherwise the
    open descriptor (the caller closes it, which releases the lock) and the rows it holds."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    rows: list[UsageRow] = []
    with open(fd, "rb", closefd=False) as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                rows.append(decode_row(line))
            except (ValueError, TypeError, KeyError, ArithmeticError):
                # Only a machine crash mid-write can cut a line (a killed process's writes are whole).
                logger.warning("skipping unreadable line %d of usage journal %s", number, path.name)
    return fd, rows


async def replay_dead_segments(directory: Path, usage: UsageRepository) -> int:
    """Insert what dead processes journaled and the ledger misses; returns the number of rows inserted. A segment is
    deleted only after its rows are committed: if the database fails, it stays for the next try."""
    if not directory.is_dir():
        return 0
    inserted = 0
    for path in sorted(directory.glob(f"*{_SUFFIX}")):
        found = await asyncio.to_thread(_read_dead_segment, path)
        if found is None:
            continue
        fd, rows = found
        try:
            if rows:
                inserted += await usage.add_missing(rows)
            path.unlink(missing_ok=True)
        finally:
            os.close(fd)
    if inserted:
        logger.warning("replayed %d usage rows from the journal of a process that died", inserted)
    return inserted
