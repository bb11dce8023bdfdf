"""``finops serve --workers N``: real supervisor and worker processes on one port.

With PostgreSQL and Redis (FINOPS_TEST_DATABASE_URL, FINOPS_TEST_REDIS_URL): a budget and an rpm limit hold across
two workers, the batch reconciler runs in one process under the background-jobs lease, and SIGTERM drains (a stream
open at SIGTERM completes, a new request meanwhile gets the 503 refusal, the process exits, the ledger has the
row). Without them: the drain with one worker on SQLite, a dead worker replaced, the demo on two workers.

Requests go out on fresh connections, so the kernel hands them to either worker.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import POSTGRES_URL, REDIS_URL, UPSTREAM_KEY
from tests.support.demo import FINOPS, demo_gateway
from tests.support.emulator import EmulatorHandle
from tests.support.governance import ADMIN_KEY, create_key, governance_section, key_row, params, wait_for
from tests.support.processes import Gateway, gateway_process, paced_upstream

needs_shared_store = pytest.mark.skipif(
    not (POSTGRES_URL and REDIS_URL),
    reason="FINOPS_TEST_DATABASE_URL and FINOPS_TEST_REDIS_URL are not both set: no shared PostgreSQL and Redis",
)


def _query(url: str, statement: str, **values: Any) -> list[Any]:
    async def run() -> list[Any]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                return list((await connection.execute(sa.text(statement), values)).all())
        finally:
            await engine.dispose()

    return asyncio.run(run())


@pytest.fixture
def two_workers(anthropic_emulator: EmulatorHandle, postgres_url: str, tmp_path: Path) -> Iterator[Gateway]:
    assert REDIS_URL
    settings = {
        "database": {"url": postgres_url},
        "redis": {"url": REDIS_URL},
        "providers": {"anthropic": {"api_key": UPSTREAM_KEY, "base_url": anthropic_emulator.base_url}},
        # Spend re-read on every check: the budget test below counts requests one by one.
        "governance": governance_section(
            require_virtual_key=True, reconcile_interval_seconds=0.05, spend_cache_seconds=0
        ),
    }
    with gateway_process(settings, tmp_path, "--workers", "2") as gateway:
        assert len(wait_for(lambda: len(gateway.workers()) == 2 and gateway.workers())) == 2
        yield gateway


def _away_from_window_edge() -> None:
    """Rate windows are whole minutes: keep a burst of requests inside one."""
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)


@needs_shared_store
def test_rpm_limit_holds_across_workers(two_workers: Gateway) -> None:
    headers = {"x-api-key": create_key(two_workers.url, f"rpm-{uuid.uuid4().hex[:8]}", rpm=4)["key"]}
    _away_from_window_edge()
    statuses = [
        httpx.post(f"{two_workers.url}/anthropic/v1/messages", headers=headers, json=params()).status_code
        for _ in range(10)
    ]
    assert statuses == [200] * 4 + [429] * 6


@needs_shared_store
def test_budget_holds_across_workers(two_workers: Gateway) -> None:
    base = two_workers.url
    probe = create_key(base, f"probe-{uuid.uuid4().hex[:8]}")
    answered = httpx.post(f"{base}/anthropic/v1/messages", headers={"x-api-key": probe["key"]}, json=params())
    assert answered.status_code == 200, answered.text
    one_request = wait_for(lambda: (row := key_row(base, probe["id"])) and row["cost_usd"])
    # Room for three requests and a half: the fourth is admitted (spend 3x < budget), the fifth is not.
    budget = Decimal(str(one_request)) * Decimal("3.5")
    key = create_key(base, f"budget-{uuid.uuid4().hex[:8]}", budget_usd=str(budget))
    statuses = []
    for _ in range(12):
        response = httpx.post(f"{base}/anthropic/v1/messages", headers={"x-api-key": key["key"]}, json=params())
        statuses.append(response.status_code)
        if response.status_code == 200:
            # The ledger writes behind the answer (0.1 s window): let the row land before the next check.
            wait_for(lambda: (row := key_row(base, key["id"])) and row["requests"] == statuses.count(200))
    assert statuses == [200] * 4 + [403] * 8
    row = key_row(base, key["id"])
    assert row is not None and row["requests"] == 4


@needs_shared_store
def test_reconciler_runs_in_one_worker_and_records_a_batch_once(two_workers: Gateway, postgres_url: str) -> None:
    base = two_workers.url
    key = create_key(base, f"once-{uuid.uuid4().hex[:8]}")
    requests = [{"custom_id": f"r{i}", "params": params(f"question {i}")} for i in range(5)]
    created = httpx.post(
        f"{base}/anthropic/v1/messages/batches", headers={"x-api-key": key["key"]}, json={"requests": requests}
    )
    assert created.status_code == 200, created.text
    wait_for(lambda: (row := key_row(base, key["id"])) and row["requests"] == len(requests))
    time.sleep(1.0)  # the reconciler polls every 50 ms: give a double recording every chance to happen
    row = key_row(base, key["id"])
    assert row is not None and row["requests"] == len(requests) and row["cost_usd"] > 0

    holders = _query(postgres_url, "SELECT owner, expires_at FROM leases WHERE name = 'background-jobs'")
    assert len(holders) == 1
    owner_pid = int(holders[0].owner.split(":")[1])
    assert owner_pid in two_workers.workers(), (holders, two_workers.workers())


def _stream_while_draining(gateway: Gateway, key: str) -> dict[str, Any]:
    """Open a stream, SIGTERM the gateway mid-stream, then try a new request; returns what each got."""
    outcome: dict[str, Any] = {}
    client = anthropic.Anthropic(
        base_url=f"{gateway.url}/anthropic",
        api_key=key,
        default_headers={"x-model-provider": "openai"},
        max_retries=0,
        timeout=60,
    )

    def stream() -> None:
        with client.messages.stream(
            model="gpt-4o-mini", max_tokens=100, messages=[{"role": "user", "content": "a long answer"}]
        ) as events:
            outcome["text"] = events.get_final_text()
            outcome["message"] = events.get_final_message()

    reader = threading.Thread(target=stream)
    reader.start()
    time.sleep(0.6)  # the stream is open: its first events have come
    gateway.terminate()
    time.sleep(1.0)  # the supervisor passes SIGTERM on within its 0.5 s poll
    try:
        client.messages.create(model="gpt-4o-mini", max_tokens=10, messages=[{"role": "user", "content": "too late"}])
    except anthropic.APIStatusError as exc:
        outcome["refusal"] = exc
    reader.join(timeout=60)
    outcome["exit"] = gateway.process.wait(timeout=60)
    return outcome


def _drain_settings(database_url: str, upstream: str, **extra: Any) -> dict[str, Any]:
    return {
        "database": {"url": database_url},
        "providers": {"openai": {"api_key": "sk-upstream-test", "base_url": f"{upstream}/v1"}},
        "governance": {"admin_key": ADMIN_KEY},
        "server": {"drain_seconds": 30},
        **extra,
    }


@pytest.mark.parametrize(
    "workers",
    [pytest.param(1, id="one-worker-sqlite"), pytest.param(2, id="two-workers-postgres", marks=needs_shared_store)],
)
def test_sigterm_drains_open_streams_refuses_new_requests_and_keeps_the_ledger(
    workers: int, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if workers == 1:
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'finops.db'}"
        extra: dict[str, Any] = {}
    else:
        database_url = request.getfixturevalue("postgres_url")
        extra = {"redis": {"url": REDIS_URL}}
    events = 30
    with (
        paced_upstream(first_ms=100, interval_ms=100, events=events) as upstream,
        gateway_process(_drain_settings(database_url, upstream, **extra), tmp_path, "--workers", str(workers)) as gw,
    ):
        key = create_key(gw.url, f"drain-{uuid.uuid4().hex[:8]}")
        outcome = _stream_while_draining(gw, key["key"])

    # The stream open at SIGTERM ran to its end.
    assert outcome["text"] == "".join(f"w{k} " for k in range(events))
    assert outcome["message"].stop_reason == "end_turn"
    # The request sent during the drain was refused in the Anthropic envelope, as something to retry.
    refusal: anthropic.APIStatusError = outcome["refusal"]
    assert refusal.status_code == 503
    assert refusal.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    assert refusal.response.headers["x-should-retry"] == "true"
    assert refusal.response.headers["connection"] == "close"
    # The gateway exited by itself (uvicorn re-raises the SIGTERM it handled in a single process).
    assert outcome["exit"] in (0, -signal.SIGTERM)
    # And the stream's usage row was written before it exited.
    rows = _query(database_url, "SELECT output_tokens FROM usage_records WHERE key_id = :key", key=key["id"])
    assert [row.output_tokens for row in rows] == [events]


def test_a_dead_worker_is_replaced(anthropic_emulator: EmulatorHandle, tmp_path: Path) -> None:
    settings = {
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'finops.db'}"},
        "providers": {"anthropic": {"api_key": UPSTREAM_KEY, "base_url": anthropic_emulator.base_url}},
    }
    with gateway_process(settings, tmp_path, "--workers", "2") as gateway:
        first = wait_for(lambda: len(gateway.workers()) == 2 and gateway.workers())
        os.kill(first[0], signal.SIGKILL)
        replaced = wait_for(lambda: (now := gateway.workers()) and len(now) == 2 and first[0] not in now and now)
        assert first[1] in replaced
        for _ in range(6):  # fresh connections: both workers answer
            answered = httpx.post(
                f"{gateway.url}/anthropic/v1/messages", headers={"x-api-key": "k"}, json=params(), timeout=30
            )
            assert answered.status_code == 200, answered.text


def test_demo_runs_on_two_workers_with_its_emulators_started_once(tmp_path: Path) -> None:
    with demo_gateway(tmp_path, ["--workers", "2"]) as base:
        client = anthropic.Anthropic(base_url=f"{base}/anthropic", api_key="demo", max_retries=0)
        for provider in ("anthropic", "openai"):
            for _ in range(3):
                message = client.messages.create(
                    model="claude-3-5-haiku-latest" if provider == "anthropic" else "gpt-4o-mini",
                    max_tokens=20,
                    messages=[{"role": "user", "content": "hello"}],
                    extra_headers={"x-model-provider": provider},
                )
                assert message.content and message.content[0].type == "text"
        created = client.messages.batches.create(requests=[{"custom_id": "a", "params": params()}])
        # Any worker finds the batch: the demo's emulators and database are the supervisor's, shared.
        for _ in range(4):
            assert client.messages.batches.retrieve(created.id).id == created.id


def test_workers_flag_refuses_nonsense(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(FINOPS), "serve", "--workers", "zero"], cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "workers" in result.stderr


def test_a_stream_cut_at_the_end_of_the_drain_still_gets_its_usage_row(tmp_path: Path) -> None:
    """Past ``drain_seconds`` (and uvicorn's grace after it) an open stream is cut, and still recorded."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'finops.db'}"
    with (
        paced_upstream(first_ms=100, interval_ms=250, events=40) as upstream,  # 10 s: outlives drain + grace
        gateway_process(
            {**_drain_settings(database_url, upstream), "server": {"drain_seconds": 1}}, tmp_path
        ) as gateway,
    ):
        key = create_key(gateway.url, f"cut-{uuid.uuid4().hex[:8]}")
        client = anthropic.Anthropic(
            base_url=f"{gateway.url}/anthropic",
            api_key=key["key"],
            default_headers={"x-model-provider": "openai"},
            max_retries=0,
            timeout=60,
        )
        texts: list[str] = []
        with (
            # The SDK's own HTTP client (httpx2) reports the cut body as it is.
            pytest.raises((anthropic.APIConnectionError, httpx2.RemoteProtocolError)),
            client.messages.stream(
                model="gpt-4o-mini", max_tokens=100, messages=[{"role": "user", "content": "a long answer"}]
            ) as events,
        ):
            for text in events.text_stream:
                texts.append(text)
                if len(texts) == 2:
                    gateway.terminate()
        assert 2 <= len(texts) < 40  # cut, not finished
        assert gateway.process.wait(timeout=60) in (0, -signal.SIGTERM)
    rows = _query(database_url, "SELECT request_id FROM usage_records WHERE key_id = :key", key=key["id"])
    assert len(rows) == 1
