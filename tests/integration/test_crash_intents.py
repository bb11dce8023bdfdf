"""Kill -9 inside an upstream create (issue 13 items 1, 2 and 6), on real processes: a ``finops serve`` killed by
its own fault point (``FINOPS_FAULT_POINT``: the process SIGKILLs itself at that line, so the window is hit every
time) and emulators running as their own processes, which keep what the dead gateway created.

After a restart on the same database (SQLite, and PostgreSQL when configured), the recovery pass must leave every
upstream object either visible through the gateway or gone upstream (cancelled, its files deleted), every visible
batch with its cost row, no reservation of a batch nobody can see, and no spool file in the temp directory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import POSTGRES_URL
from tests.support.databases import scratch_postgres_database
from tests.support.governance import ADMIN, ADMIN_KEY, wait_for
from tests.support.processes import Gateway, emulator_process, gateway_process

UPSTREAM_KEY = "upstream-key-for-crash-tests"
OPENAI_AUTH = {"authorization": f"Bearer {UPSTREAM_KEY}"}
GEMINI_AUTH = {"x-goog-api-key": UPSTREAM_KEY}
ANTHROPIC_AUTH = {
    "x-api-key": UPSTREAM_KEY,
    "anthropic-version": "2023-06-01",
    "anthropic-beta": "files-api-2025-04-14",
}
MODELS = {
    "openai": ("gpt-4o-mini", "gpt-4o"),
    "gemini": ("gemini-2.5-flash", "gemini-2.0-flash"),
    "anthropic": ("claude-3-5-haiku-20241022",),
}


# Batches run for a minute: they are still running (so cancellable) when recovery looks for them.
@pytest.fixture(scope="module")
def openai_upstream() -> Iterator[str]:
    with emulator_process("openai", batch_seconds=60) as url:
        yield url


@pytest.fixture(scope="module")
def anthropic_upstream() -> Iterator[str]:
    with emulator_process("anthropic", batch_seconds=60) as url:
        yield url


@pytest.fixture(scope="module")
def gemini_upstream() -> Iterator[str]:
    with emulator_process("gemini", batch_seconds=60) as url:
        yield url


def _settings(provider: str, url: str, database: str) -> dict[str, Any]:
    return {
        "providers": {provider: {"api_key": UPSTREAM_KEY, "base_url": f"{url}/v1" if provider == "openai" else url}},
        "database": {"url": database},
        "governance": {"admin_key": ADMIN_KEY, "reconcile_interval_seconds": 0.5, "recovery_interval_seconds": 0.5},
    }


def _client(gateway: Gateway, key: str, provider: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=f"{gateway.url}/anthropic", api_key=key, max_retries=0, default_headers={"x-model-provider": provider}
    )


def _key(gateway: Gateway) -> str:
    answer = httpx.post(f"{gateway.url}/admin/keys", headers=ADMIN, json={"name": "crash", "budget_usd": 100})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["key"])


def _requests(provider: str, *, models: int) -> list[dict[str, Any]]:
    return [
        {
            "custom_id": f"r{index}",
            "params": {
                "model": MODELS[provider][index % models],
                "max_tokens": 64,
                "messages": [{"role": "user", "content": f"question {index}"}],
            },
        }
        for index in range(4)
    ]


def _create(client: anthropic.Anthropic, provider: str, kind: str, *, models: int = 1) -> Any:
    if kind == "batch":
        return client.messages.batches.create(requests=_requests(provider, models=models))  # type: ignore[arg-type]
    return client.beta.files.upload(file=("notes.txt", b"some notes to keep", "text/plain"))


# -- what is upstream ------------------------------------------------------------------------------------------


def _upstream_batches(provider: str, url: str) -> list[dict[str, Any]]:
    """Live upstream batches: OpenAI's and Anthropic's not cancelled (neither deletes a batch before it ended),
    Gemini's not deleted."""
    if provider == "anthropic":
        data = httpx.get(f"{url}/v1/messages/batches", headers=ANTHROPIC_AUTH).json()["data"]
        return [b for b in data if b["cancel_initiated_at"] is None]
    if provider == "openai":
        data = httpx.get(f"{url}/v1/batches", headers=OPENAI_AUTH, params={"limit": 100}).json()["data"]
        return [b for b in data if b["status"] not in ("cancelling", "cancelled")]
    return httpx.get(f"{url}/v1beta/batches", headers=GEMINI_AUTH).json().get("operations") or []


def _upstream_files(provider: str, url: str) -> list[dict[str, Any]]:
    if provider == "anthropic":
        return list(httpx.get(f"{url}/v1/files", headers=ANTHROPIC_AUTH).json()["data"])
    if provider == "openai":
        return list(httpx.get(f"{url}/v1/files", headers=OPENAI_AUTH).json()["data"])
    return httpx.get(f"{url}/v1beta/files", headers=GEMINI_AUTH).json().get("files") or []


def _upstream(provider: str, url: str) -> tuple[int, int]:
    return len(_upstream_batches(provider, url)), len(_upstream_files(provider, url))


# -- what the gateway knows ----------------------------------------------------------------------------------


def _rows(database: str) -> tuple[set[str], set[str], set[str], list[str]]:
    """Batch IDs, batch cost rows, file IDs, and the intents' states."""

    async def read() -> tuple[set[str], set[str], set[str], list[str]]:
        engine = create_async_engine(database)
        try:
            async with engine.connect() as connection:

                async def column(sql: str) -> list[str]:
                    return [row[0] for row in await connection.execute(sa.text(sql))]

                return (
                    set(await column("SELECT id FROM batches")),
                    set(await column("SELECT batch_id FROM batch_costs")),
                    set(await column("SELECT id FROM files")),
                    await column("SELECT state FROM upstream_intents"),
                )
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.fixture
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite, or a PostgreSQL database of this test's own (the assertions read whole tables)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'finops.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("FINOPS_TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    with scratch_postgres_database(POSTGRES_URL, "finops_crash") as url:
        yield url


def _spools(tmp: Path) -> list[str]:
    return sorted(entry.name for entry in tmp.iterdir() if entry.name.startswith("finops-"))


CASES = [
    # (provider, kind, fault point, models in the batch)
    ("openai", "batch", "create.after_upstream", 1),
    ("openai", "file", "create.after_upstream", 1),
    # The first of two part batches (one per model) exists upstream, and the JSONL spool of the parts on disk.
    ("openai", "batch", "batch.after_upstream_part", 2),
    ("gemini", "batch", "create.after_upstream", 1),
    ("gemini", "file", "create.after_upstream", 1),
    # Anthropic keeps no key: found by creation time and size (request count; file name and bytes).
    ("anthropic", "batch", "create.after_upstream", 1),
    ("anthropic", "file", "create.after_upstream", 1),
    # Killed before anything was sent: nothing upstream, the intent and the reservation wait for recovery.
    ("openai", "batch", "create.after_intent", 1),
]


@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize(("provider", "kind", "point", "models"), CASES)
def test_kill_after_the_upstream_create_leaves_nothing_unseen(
    provider: str,
    kind: str,
    point: str,
    models: int,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    empty_database: str,
) -> None:
    url = request.getfixturevalue(f"{provider}_upstream")
    database = empty_database
    settings = _settings(provider, url, database)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"TMPDIR": str(tmp)}
    batches_before, files_before = _upstream(provider, url)

    with gateway_process(settings, tmp_path, env={**env, "FINOPS_FAULT_POINT": point}) as doomed:
        key = _key(doomed)
        with pytest.raises(anthropic.APIConnectionError):
            _create(_client(doomed, key, provider), provider, kind, models=models)
        assert doomed.process.wait(timeout=30) == -9
    # The window was hit: the upstream holds what the dead gateway created, the gateway has no row for it.
    batches_mid, files_mid = _upstream(provider, url)
    if point == "create.after_intent":
        assert (batches_mid, files_mid) == (batches_before, files_before)
    else:
        assert batches_mid > batches_before if kind == "batch" else files_mid > files_before
    batch_ids, costs, file_ids, states = _rows(database)
    assert not batch_ids and not file_ids and states == ["creating"]
    if kind == "batch":
        assert len(costs) == 1  # its reservation, taken before the upstream call
    if point == "batch.after_upstream_part":
        assert _spools(tmp)  # the killed create's JSONL spool is still there

    with gateway_process(settings, tmp_path, env=env) as restarted:
        wait_for(lambda: _rows(database)[3] == ["abandoned"], timeout=30)
        # Gone upstream: batches cancelled (OpenAI) or deleted (Gemini), every file deleted.
        assert _upstream(provider, url) == (batches_before, files_before)
        assert _spools(tmp) == []
        batch_ids, costs, file_ids, _ = _rows(database)
        assert not batch_ids and not file_ids and not costs  # the reservation was given back

        # A create after the restart works and is complete: visible, with its cost row, its intent done.
        client = _client(restarted, key, provider)
        created = _create(client, provider, kind)
        batch_ids, costs, file_ids, states = _rows(database)
        if kind == "batch":
            assert batch_ids == {created.id} and costs == batch_ids
            assert [b.id for b in client.messages.batches.list()] == [created.id]
            client.messages.batches.cancel(created.id)
        else:
            assert file_ids == {created.id}
            client.beta.files.delete(created.id)
        assert sorted(states) == ["abandoned", "done"]
