"""Budgets that hold under parallel creates and across processes (issue 13 items 3 and 4), on real ``finops serve``
processes against one database and an Anthropic emulator process.

- A batch's reservation is taken before the upstream call, atomically against the budget: 8 parallel creates
  against a budget that fits one batch are answered with exactly one batch and 7 refusals.
- A budget check reads the database (every process's committed spend), and a request's usage row is committed
  before its answer ends: two gateways answering alternate sequential requests overshoot by nothing. The
  documented bound (docs/decisions.md) is one request per request in flight when the budget runs out; sequential
  traffic has none in flight, so exactly the requests that fit are answered.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from tests.support.governance import ADMIN, ADMIN_KEY, MODEL
from tests.support.processes import Gateway, emulator_process, gateway_process

UPSTREAM_KEY = "upstream-key-for-budget-tests"
PARALLEL = 8


def _settings(emulator: str, database: str) -> dict[str, Any]:
    return {
        "providers": {"anthropic": {"api_key": UPSTREAM_KEY, "base_url": emulator}},
        "database": {"url": database},
        "governance": {"admin_key": ADMIN_KEY, "reconcile_interval_seconds": 60},
    }


def _key(gateway: Gateway, name: str, budget: float) -> dict[str, Any]:
    answer = httpx.post(f"{gateway.url}/admin/keys", headers=ADMIN, json={"name": name, "budget_usd": budget})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _spent(gateway: Gateway, key_id: str) -> float:
    return float(httpx.get(f"{gateway.url}/admin/keys/{key_id}", headers=ADMIN).json()["spend_usd"])


def _client(gateway: Gateway, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=f"{gateway.url}/anthropic", api_key=key, max_retries=0)


BATCH = [
    {
        "custom_id": f"r{i}",
        "params": {"model": MODEL, "max_tokens": 2000, "messages": [{"role": "user", "content": "hi"}]},
    }
    for i in range(3)
]
MESSAGE: dict[str, Any] = {"model": MODEL, "max_tokens": 50, "messages": [{"role": "user", "content": "What is 2+2?"}]}


@pytest.fixture(scope="module")
def emulator() -> Any:
    with emulator_process("anthropic", batch_seconds=60) as url:
        yield url


def test_parallel_batch_creates_against_a_budget_that_fits_one(
    emulator: str, database_url: str, tmp_path: Path
) -> None:
    with gateway_process(_settings(emulator, database_url), tmp_path) as gateway:
        probe = _key(gateway, f"probe-{tmp_path.name}", 1000)
        batch = _client(gateway, probe["key"]).messages.batches.create(requests=BATCH)  # type: ignore[arg-type]
        reservation = _spent(gateway, probe["id"])
        assert reservation > 0
        _client(gateway, probe["key"]).messages.batches.cancel(batch.id)

        tight = _key(gateway, f"tight-{tmp_path.name}", reservation * 1.5)  # one batch fits, two do not
        client = _client(gateway, tight["key"])

        def create(_: int) -> str:
            try:
                client.messages.batches.create(requests=BATCH)  # type: ignore[arg-type]
            except anthropic.PermissionDeniedError as refused:
                assert "budget exceeded" in refused.message
                return "refused"
            return "accepted"

        with ThreadPoolExecutor(PARALLEL) as pool:
            outcomes = list(pool.map(create, range(PARALLEL)))
        assert sorted(outcomes) == ["accepted"] + ["refused"] * (PARALLEL - 1)
        assert len(list(client.messages.batches.list())) == 1
        assert _spent(gateway, tight["id"]) == pytest.approx(reservation)


def test_two_gateways_alternating_stop_where_the_budget_does(emulator: str, database_url: str, tmp_path: Path) -> None:
    settings = _settings(emulator, database_url)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with gateway_process(settings, tmp_path / "a") as first, gateway_process(settings, tmp_path / "b") as second:
        probe = _key(first, f"probe-{tmp_path.name}", 1000)
        _client(first, probe["key"]).messages.create(**MESSAGE)
        cost = _spent(first, probe["id"])  # the row is committed before the answer: no waiting
        assert cost > 0

        fits = 5
        key = _key(first, f"alternating-{tmp_path.name}", cost * (fits - 0.5))  # the 5th fits, the 6th does not
        clients = [_client(first, key["key"]), _client(second, key["key"])]
        answered = refused = 0
        for turn in range(40):
            try:
                clients[turn % 2].messages.create(**MESSAGE)
                answered += 1
            except anthropic.PermissionDeniedError:
                refused += 1
        # Sequential requests have none in flight when the budget runs out: the bound is zero requests over.
        assert (answered, refused) == (fits, 40 - fits)
        assert _spent(second, key["id"]) == pytest.approx(cost * fits)
