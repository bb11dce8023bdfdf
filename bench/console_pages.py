"""Console pages on a big ledger (issue 14: overview and requests in under 300 ms with 1,000,000 usage rows, on
SQLite and PostgreSQL).

1. Makes a fresh database (an SQLite file, or a new PostgreSQL database on ``--postgres``), migrates it, and
   creates ``--keys`` virtual keys through ``KeyAdmin``.
2. Seeds ``--rows`` ledger rows spread over ``--days`` days (4 providers x 3 models, 10 % batch rows, 1 % unpriced,
   one model that is rare), in chunks of 50,000, each in one transaction with its daily-rollup increments written
   by the ledger writer's own code (``finops.store.rollups.add_to_daily``).
3. Starts ``finops serve`` on that database (console on), signs in as the admin and as one key holder over
   HTTP, and times every page ``--repeat`` times after one warm-up: p50, p95, max of the whole answer.
4. What keeping the rollups costs the ledger writer: ``--writer-rows`` rows written in 500-row transactions
   through ``UsageRepository.add_many`` (ledger + rollups), against the same rows as plain 25-row INSERTs (the
   writer before migration 0003), on another fresh database of the same kind.

Usage:

    cd bench && ../.venv/bin/python console_pages.py --database sqlite
    cd bench && ../.venv/bin/python console_pages.py --database postgresql \\
        --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from _procs import gateway
from finops.governance.keys import KeyAdmin, owner_of
from finops.store.db import create_engine, migrate
from finops.store.keys import KeyRepository
from finops.store.rollups import add_to_daily
from finops.store.tables import usage_daily, usage_records
from finops.store.usage import UsageRepository, UsageRow

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout: the tests' scratch databases
from tests.support.databases import scratch_postgres_database

ADMIN_KEY = "bench-admin-key-0123456789"
MODELS = {
    "anthropic": ("claude-sonnet-4-5-20250929", "claude-3-haiku-20240307", "claude-3-sonnet-20240229"),
    "openai": ("gpt-4o-mini", "gpt-4.1", "o4-mini"),
    "gemini": ("gemini-2.5-flash", "gemini-2.0-flash", "gemini-1.5-flash"),
    "bedrock": ("amazon.nova-lite-v1:0", "us.anthropic.claude-sonnet-4-20250514-v1:0", "rare-model-v1"),
}
CHUNK = 50_000


def _rows(count: int, days: int, keys: list[tuple[str, str]], seed: int = 14) -> Iterator[list[UsageRow]]:
    """``count`` rows in time order over the last ``days`` days, ``CHUNK`` at a time."""
    chooser = random.Random(seed)
    now = datetime.now(UTC)
    start = now - timedelta(days=days - 1, hours=now.hour, minutes=now.minute)
    step = (now - start) / count
    pairs = [(provider, model) for provider, models in MODELS.items() for model in models if model != "rare-model-v1"]
    chunk: list[UsageRow] = []
    for index in range(count):
        key_id, key_name = keys[chooser.randrange(len(keys))]
        provider, model = ("bedrock", "rare-model-v1") if index % 997 == 0 else chooser.choice(pairs)
        unpriced = index % 101 == 0
        chunk.append(
            UsageRow(
                created_at=start + step * index,
                key_id=key_id,
                key_name=key_name,
                owner=owner_of(key_id),
                provider=provider,
                model=model,
                input_tokens=chooser.randint(10, 4000),
                output_tokens=chooser.randint(5, 800),
                cache_read_tokens=chooser.choice((0, 0, 0, 512, 2048)),
                cache_write_tokens=chooser.choice((0, 0, 0, 0, 128)),
                cost_usd=None if unpriced else Decimal(chooser.randint(1, 50_000)) / Decimal(1_000_000),
                batch_id="msgbatch_bench" if index % 10 == 0 else None,
                request_id=f"req_bench_{index}",
                latency_ms=chooser.randint(80, 4000),
                status=200,
            )
        )
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_COLUMNS = [column.name for column in usage_records.columns if column.name != "seq"]


async def _bulk_insert(connection: AsyncConnection, chunk: list[UsageRow]) -> None:
    """The ledger rows, the fast way (the production writer goes 25 rows a statement to stay fair to requests)."""
    if connection.dialect.name == "postgresql":
        raw = await connection.get_raw_connection()
        records = [tuple(getattr(row, name) for name in _COLUMNS) for row in chunk]
        await raw.driver_connection.copy_records_to_table("usage_records", records=records, columns=_COLUMNS)
        return

    def value(row: UsageRow, name: str) -> object:
        found = getattr(row, name)
        if name == "created_at":
            return found.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # how SQLAlchemy stores it in SQLite
        return float(found) if isinstance(found, Decimal) else found

    statement = f"INSERT INTO usage_records ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
    await connection.exec_driver_sql(statement, [tuple(value(row, name) for name in _COLUMNS) for row in chunk])


async def seed(url: str, rows: int, days: int, key_count: int) -> tuple[str, float]:
    """Migrate, make keys, write the rows; answers one key holder's secret and the seconds seeding took."""
    engine = create_engine(url)
    try:
        await migrate(engine)
        admin = KeyAdmin(KeyRepository(engine))
        keys, holder_secret = [], ""
        for number in range(key_count):
            record, secret = await admin.create({"name": f"team-{number:02d}", "budget_usd": 100})
            keys.append((record.id, record.name))
            holder_secret = holder_secret or secret
        started = time.perf_counter()
        for chunk in _rows(rows, days, keys):
            async with engine.begin() as connection:
                await _bulk_insert(connection, chunk)
                await add_to_daily(connection, chunk)  # the ledger writer's own rollup code
            print(f"  seeded {chunk[-1].request_id.removeprefix('req_bench_')} rows", end="\r", flush=True)
        seconds = time.perf_counter() - started
        async with engine.connect() as connection:
            ledger = await connection.scalar(sa.select(sa.func.count()).select_from(usage_records))
            rollup = await connection.scalar(sa.select(sa.func.count()).select_from(usage_daily))
            if engine.dialect.name == "postgresql":
                await connection.execute(sa.text("ANALYZE"))
        print(f"\n  ledger rows: {ledger:,}  rollup rows: {rollup:,}  seeded in {seconds:.1f} s")
        # What one of the overview's sums costs straight from the ledger (indexes, no rollup): the alternative.
        report = UsageRepository(engine).report
        for group in ("day", "model"):
            started = time.perf_counter()
            await report(group, datetime.now(UTC) - timedelta(days=days), None)
            took = (time.perf_counter() - started) * 1000
            print(f"  the same sums from the ledger instead (GROUP BY {group}, {days} days): {took:.0f} ms per query")
        return holder_secret, seconds
    finally:
        await engine.dispose()


@contextmanager
def database(kind: str, postgres: str | None) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="finops-console-bench-") as directory:
            yield f"sqlite+aiosqlite:///{directory}/bench.db"
        return
    if not postgres:
        raise SystemExit("--postgres URL is required for --database postgresql")
    with scratch_postgres_database(postgres, "finops_console_bench") as url:
        yield url


async def writer_cost(url: str, rows: int, key_count: int) -> None:
    """Seconds to write ``rows`` through the ledger writer (with rollups) and as plain INSERTs (without)."""
    engine = create_engine(url)
    try:
        await migrate(engine)
        keys = [(f"vk_{number:02d}", f"team-{number:02d}") for number in range(key_count)]
        # Recent traffic: a few hours, as one flush of the write-behind queue holds (500 rows at most).
        generated = [row for chunk in _rows(rows, 1, keys, seed=15) for row in chunk]
        batches = [generated[start : start + 500] for start in range(0, len(generated), 500)]
        ledger = UsageRepository(engine)
        started = time.perf_counter()
        for batch in batches:
            await ledger.add_many(batch)
        with_rollups = time.perf_counter() - started
        started = time.perf_counter()
        for batch in batches:
            async with engine.begin() as connection:
                for start in range(0, len(batch), 25):
                    await connection.execute(
                        usage_records.insert(), [row.__dict__ for row in batch[start : start + 25]]
                    )
        plain = time.perf_counter() - started
        print(
            f"ledger writer, {rows:,} rows in 500-row transactions: {with_rollups:.2f} s with the rollups "
            f"({rows / with_rollups:,.0f} rows/s), {plain:.2f} s as plain INSERTs ({rows / plain:,.0f} rows/s)"
        )
    finally:
        await engine.dispose()


def sign_in(base: str, key: str) -> httpx.Client:
    client = httpx.Client(base_url=f"{base}/ui", timeout=60)
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, form.text
    answer = client.post("/login", data={"csrf": token.group(1), "key": key}, headers={"origin": base})
    assert answer.status_code == 303, answer.text
    return client


def timed(client: httpx.Client, path: str, repeat: int) -> list[float]:
    answer = client.get(path)  # warm-up (and the check that the page works)
    assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, path
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres", help="server URL; a fresh database is created on it and dropped after")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--keys", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--writer-rows", type=int, default=100_000, help="0: skip the ledger writer's measurement")
    parser.add_argument("--pages", action=argparse.BooleanOptionalAction, default=True, help="seed and time pages")
    args = parser.parse_args()

    if args.writer_rows:
        with database(args.database, args.postgres) as url:
            asyncio.run(writer_cost(url, args.writer_rows, args.keys))
    if not args.pages:
        return

    with database(args.database, args.postgres) as url:
        print(f"{args.database}: seeding {args.rows:,} rows over {args.days} days, {args.keys} keys")
        holder_secret, _ = asyncio.run(seed(url, args.rows, args.days, args.keys))
        config = f"database: {{url: '{url}'}}\ngovernance: {{admin_key: '{ADMIN_KEY}'}}\nconsole: {{enabled: true}}\n"
        with gateway(config) as (base, _):
            admin, holder = sign_in(base, ADMIN_KEY), sign_in(base, holder_secret)
            middle = args.rows // 2
            pages = [
                ("admin", admin, "/overview"),
                ("admin", admin, "/overview?by=model&days=90"),
                ("admin", admin, "/overview?by=key&days=90"),
                ("admin", admin, "/requests"),
                ("admin", admin, f"/requests?before={middle}"),
                ("admin", admin, "/requests?provider=gemini"),
                ("admin", admin, "/requests?model=rare-model-v1"),
                ("admin", admin, "/requests?unpriced=1"),
                ("admin", admin, "/keys"),
                ("key holder", holder, "/overview?days=90"),
                ("key holder", holder, "/requests"),
                ("key holder", holder, f"/requests?before={middle}"),
            ]
            print(f"{'viewer':<11} {'page':<34} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}")
            for viewer, client, path in pages:
                samples = sorted(timed(client, path, args.repeat))
                p95 = samples[max(0, round(0.95 * len(samples)) - 1)]
                print(f"{viewer:<11} {path:<34} {statistics.median(samples):7.1f} {p95:7.1f} {samples[-1]:7.1f}")
            export = httpx.Client(base_url=base, timeout=600, headers={"x-api-key": ADMIN_KEY})
            started = time.perf_counter()
            with export.stream("GET", "/admin/usage/export", params={"format": "focus"}) as answer:
                lines = sum(chunk.count(b"\n") for chunk in answer.iter_bytes())
            print(f"FOCUS export, all {args.days} days: {lines - 1:,} rows in {time.perf_counter() - started:.2f} s")
            for client in (admin, holder, export):
                client.close()


if __name__ == "__main__":
    main()
