"""Two gateway processes sharing PostgreSQL and Redis: batches cross over, rate limits and batch costs are
shared and recorded once. Needs FINOPS_TEST_DATABASE_URL and FINOPS_TEST_REDIS_URL (set in CI)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest
import yaml

from tests.conftest import POSTGRES_URL, REDIS_URL, UPSTREAM_KEY
from tests.support.demo import finops_process
from tests.support.emulator import EmulatorHandle
from tests.support.governance import create_key, governance_section, key_row, params, wait_for

pytestmark = pytest.mark.skipif(
    not (POSTGRES_URL and REDIS_URL),
    reason="FINOPS_TEST_DATABASE_URL and FINOPS_TEST_REDIS_URL are not both set: no shared PostgreSQL and Redis",
)


@pytest.fixture
def gateways(
    anthropic_emulator: EmulatorHandle, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """Two real ``finops serve`` processes on one PostgreSQL and one Redis: nothing shared but those."""
    assert REDIS_URL
    settings = {
        "database": {"url": postgres_url},
        "redis": {"url": REDIS_URL},
        "providers": {"anthropic": {"api_key": UPSTREAM_KEY, "base_url": anthropic_emulator.base_url}},
        "governance": governance_section(require_virtual_key=True, reconcile_interval_seconds=0.05),
    }
    with ExitStack() as stack:
        bases = []
        for name in ("first", "second"):
            workdir = tmp_path_factory.mktemp(name)
            (workdir / "finops.yaml").write_text(yaml.safe_dump(settings))
            bases.append(stack.enter_context(finops_process(["--config", str(workdir / "finops.yaml")], workdir)))
        yield bases[0], bases[1]


def _away_from_window_edge() -> None:
    """Rate windows are whole minutes: keep a burst of requests inside one."""
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)


def test_batch_created_on_one_is_served_by_the_other(gateways: tuple[str, str]) -> None:
    first, second = gateways
    headers = {"x-api-key": create_key(first, f"shared-{uuid.uuid4().hex[:8]}")["key"]}
    one = httpx.Client(base_url=f"{first}/anthropic", headers=headers, timeout=30)
    two = httpx.Client(base_url=f"{second}/anthropic", headers=headers, timeout=30)
    created = one.post("/v1/messages/batches", json={"requests": [{"custom_id": "a", "params": params()}]})
    assert created.status_code == 200, created.text
    batch_id = created.json()["id"]
    wait_for(lambda: two.get(f"/v1/messages/batches/{batch_id}").json()["processing_status"] == "ended")
    results = two.get(f"/v1/messages/batches/{batch_id}/results")
    assert results.status_code == 200 and '"custom_id":"a"' in results.text.replace(" ", "")
    assert batch_id in [item["id"] for item in two.get("/v1/messages/batches").json()["data"]]


def test_rpm_limit_holds_across_both(gateways: tuple[str, str]) -> None:
    first, second = gateways
    headers = {"x-api-key": create_key(first, f"rpm-{uuid.uuid4().hex[:8]}", rpm=4)["key"]}
    _away_from_window_edge()
    statuses = []
    for index in range(6):
        base = (first, second)[index % 2]
        statuses.append(httpx.post(f"{base}/anthropic/v1/messages", headers=headers, json=params()).status_code)
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_batch_cost_recorded_once(gateways: tuple[str, str]) -> None:
    first, second = gateways
    key = create_key(first, f"once-{uuid.uuid4().hex[:8]}")
    headers = {"x-api-key": key["key"]}
    requests = [{"custom_id": f"r{i}", "params": params(f"question {i}")} for i in range(5)]
    created = httpx.post(f"{first}/anthropic/v1/messages/batches", headers=headers, json={"requests": requests})
    assert created.status_code == 200, created.text
    row = wait_for(lambda: key_row(second, key["id"]))
    time.sleep(1.0)  # both reconcilers poll every 50 ms: give a double recording every chance to happen
    for base in (first, second):
        row = key_row(base, key["id"])
        assert row is not None and row["requests"] == len(requests), row
        assert row["cost_usd"] > 0
