"""Ledger rows for tests that exercise the usage ledger without a gateway."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from finops.store.usage import UsageRow


def a_usage_row(index: int, **changes: Any) -> UsageRow:
    """Row ``index`` of key ``vk_unit``: ``index`` input tokens, one output token, $0.001, ``req_<index>``."""
    row = UsageRow(
        created_at=datetime.now(UTC),
        key_id="vk_unit",
        key_name="unit",
        owner="key:vk_unit",
        provider="anthropic",
        model="m",
        input_tokens=index,
        output_tokens=1,
        cache_read_tokens=0,
        cache_write_tokens=0,
        cost_usd=Decimal("0.001"),
        request_id=f"req_{index}",
    )
    return replace(row, **changes)
