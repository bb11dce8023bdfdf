"""The cost export (``GET /admin/usage/export``, ``finops usage --format``): FOCUS 1.2 columns checked against the
specification's requirements (tests/data/focus-1.2-columns.json), their types, and totals equal to ``/admin/usage``
for the same period; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from finops.cli import main
from finops.store.db import create_engine
from finops.store.usage import UsageRepository, UsageRow
from tests.support.console import console_gateway, make_tenant
from tests.support.emulator import EmulatorHandle
from tests.support.governance import ADMIN, report

SPEC = json.loads((Path(__file__).parent.parent / "data" / "focus-1.2-columns.json").read_text())
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")  # FOCUS numeric format: no exponent, no grouping
UNPRICED_MODEL = "claude-from-the-future-9"


@pytest.fixture
def traffic(anthropic_emulator: EmulatorHandle, database_url: str) -> Iterator[tuple[str, str]]:
    """A gateway whose ledger has two keys' requests and batches, and an unpriced request written by the ledger."""
    with console_gateway(anthropic_emulator, database_url) as base:
        make_tenant(base, "export-alpha")
        make_tenant(base, "export-bravo", model="claude-3-haiku-20240307")
        asyncio.run(_unpriced_row(database_url))
        yield base, database_url


async def _unpriced_row(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        row = UsageRow(datetime.now(UTC), None, None, "anon:x", "anthropic", UNPRICED_MODEL, 10, 20, 0, 0, None)
        await UsageRepository(engine).add_many([row])
    finally:
        await engine.dispose()


def _export(base: str, **query: str) -> tuple[httpx.Response, list[dict[str, str]]]:
    answer = httpx.get(f"{base}/admin/usage/export", headers=ADMIN, params=query, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer, list(csv.DictReader(io.StringIO(answer.text)))


def _today() -> tuple[str, str]:
    today = datetime.now(UTC).date()
    return today.isoformat(), (today + timedelta(days=1)).isoformat()


def test_focus_export_has_the_required_columns_with_their_types(traffic: tuple[str, str]) -> None:
    base, _ = traffic
    start, end = _today()
    answer, rows = _export(base, format="focus", **{"from": start, "to": end})
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == f'attachment; filename="finops-focus-{start}-{end}.csv"'
    columns = list(rows[0])
    required = set(SPEC["mandatory"]) | {
        column
        for column, criteria in SPEC["conditional"].items()
        if all(criterion in SPEC["applies_to_the_gateway"] for criterion in criteria)
    }
    assert required - set(columns) == set(), "missing FOCUS columns"
    known = set(SPEC["mandatory"]) | set(SPEC["recommended"]) | set(SPEC["conditional"])
    assert [column for column in columns if column not in known and not column.startswith("x_")] == []
    assert len(rows) >= 5  # 2 keys x (real-time + batch) + the unpriced row
    for row in rows:
        for column, kind in SPEC["types"].items():
            value = row.get(column, "")
            if value == "":
                continue
            if kind == "Decimal":
                assert NUMBER.match(value), (column, value)
            elif kind == "DateTime":
                assert DATETIME.match(value), (column, value)
            elif kind == "KeyValue":
                assert isinstance(json.loads(value), dict), (column, value)
        for column in SPEC["not_null"] + SPEC["not_null_for_usage"]:
            assert row[column] != "", (column, row)
        for column, allowed in SPEC["allowed_values"].items():
            assert row.get(column, "") in [*allowed, ""], (column, row[column])
        assert row["ChargeClass"] == ""  # nothing here corrects an earlier period
        assert row["BillingCurrency"] == "USD" and row["ServiceCategory"] == "AI and Machine Learning"
        assert row["ChargePeriodStart"] == f"{start}T00:00:00Z" and row["ChargePeriodEnd"] == f"{end}T00:00:00Z"
        assert row["BillingPeriodStart"] == f"{start[:8]}01T00:00:00Z"
        assert (
            row["ConsumedQuantity"]
            == row["PricingQuantity"]
            == str(
                sum(
                    int(row[name])
                    for name in ("x_InputTokens", "x_OutputTokens", "x_CacheReadTokens", "x_CacheWriteTokens")
                )
            )
        )
        assert Decimal(row["EffectiveCost"]) == Decimal(row["BilledCost"]) == Decimal(row["ContractedCost"])
        if row["x_Processing"] == "batch" and Decimal(row["BilledCost"]) > 0:
            # The list price is the real-time one: what the batch discount (50 % on these models) saved is visible.
            assert Decimal(row["ListCost"]) == pytest.approx(2 * Decimal(row["BilledCost"]), rel=Decimal("1e-6"))
        else:
            assert Decimal(row["ListCost"]) == Decimal(row["BilledCost"])
        tags = json.loads(row["Tags"])
        if row["SubAccountId"]:
            assert tags == {"finops/key-id": row["SubAccountId"], "finops/key-name": row["SubAccountName"]}
            assert row["ResourceId"] == row["SubAccountId"]
    unpriced = [row for row in rows if row["x_Model"] == UNPRICED_MODEL]
    assert [(row["x_UnpricedRequests"], row["BilledCost"], row["SubAccountId"]) for row in unpriced] == [("1", "0", "")]


def _totals(rows: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "cost_usd": sum((Decimal(row["BilledCost"]) for row in rows), Decimal(0)),
        "requests": sum(int(row["x_Requests"]) for row in rows),
        "unpriced_requests": sum(int(row["x_UnpricedRequests"]) for row in rows),
        "input_tokens": sum(int(row["x_InputTokens"]) for row in rows),
        "output_tokens": sum(int(row["x_OutputTokens"]) for row in rows),
    }


def test_focus_totals_equal_the_usage_report_for_the_same_period(traffic: tuple[str, str]) -> None:
    base, _ = traffic
    start, end = _today()
    _, rows = _export(base, format="focus", **{"from": start, "to": end})
    expected = report(base, "key", **{"from": start, "to": end})
    totals = _totals(rows)
    assert totals["cost_usd"] > 0
    assert float(totals["cost_usd"]) == pytest.approx(expected["total"]["cost_usd"], abs=1e-9)
    for name in ("requests", "unpriced_requests", "input_tokens", "output_tokens"):
        assert totals[name] == expected["total"][name], name
    for key_row in expected["data"]:
        mine = [row for row in rows if row["SubAccountId"] == (key_row["key_id"] or "")]
        assert float(_totals(mine)["cost_usd"]) == pytest.approx(key_row["cost_usd"], abs=1e-9), key_row["key_name"]
    # A period with no usage has no rows; an all-time export has the same totals as today's.
    yesterday = (date.fromisoformat(start) - timedelta(days=1)).isoformat()
    assert _export(base, format="focus", **{"from": yesterday, "to": start})[1] == []
    assert _totals(_export(base, format="focus")[1]) == totals


def test_plain_csv_export_and_the_command_line_agree(
    traffic: tuple[str, str], capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    base, database_url = traffic
    start, end = _today()
    _, rows = _export(base, format="csv", **{"from": start, "to": end})
    assert list(rows[0]) == [
        "day", "key_id", "key_name", "provider", "model", "batch", "requests", "unpriced_requests",
        "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd", "saved_usd",
    ]  # fmt: skip
    expected = report(base, "key", **{"from": start, "to": end})["total"]
    assert sum(int(row["requests"]) for row in rows) == expected["requests"]
    assert float(sum(Decimal(row["cost_usd"]) for row in rows)) == pytest.approx(expected["cost_usd"], abs=1e-9)

    config = tmp_path / "finops.yaml"
    config.write_text(f"database: {{url: '{database_url}'}}\n")
    for export_format in ("focus", "csv"):
        assert main(["usage", "--config", str(config), "--format", export_format, "--from", start, "--to", end]) == 0
        printed = capsysbinary.readouterr().out.decode()
        served = httpx.get(
            f"{base}/admin/usage/export", headers=ADMIN, params={"format": export_format, "from": start, "to": end}
        ).text
        assert printed == served


def test_bad_export_parameters_are_400s(traffic: tuple[str, str]) -> None:
    base, _ = traffic
    for query in ({"format": "xlsx"}, {"from": "yesterday"}, {"from": "2026-11-30T12:00:00Z"}):
        answer = httpx.get(f"{base}/admin/usage/export", headers=ADMIN, params=query)
        assert answer.status_code == 400, (query, answer.text)
        assert answer.json()["error"]["type"] == "invalid_request_error"
    assert httpx.get(f"{base}/admin/usage/export").status_code == 401  # the admin key is required
