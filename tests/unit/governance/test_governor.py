"""The governance facade on its own: an unknown model is recorded with a NULL cost (never guessed) and counted
in the unpriced metric; a known one is priced and counted."""

from __future__ import annotations

import asyncio
from pathlib import Path

from finops.config import parse_settings
from finops.core.types import Principal
from finops.governance.governor import Governance
from finops.store import Store


def test_unknown_model_is_recorded_unpriced(tmp_path: Path) -> None:
    async def run() -> tuple[list[dict], float, float]:
        settings = parse_settings({"database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'gov.db'}"}})
        store = await Store.open(settings.database.url)
        governance = Governance(settings, store.engine)
        await governance.start()
        principal = Principal(owner="anon:abc")
        for model in ("mystery-model-1", "claude-3-sonnet-20240229"):
            admission = await governance.admit(principal, "anthropic", model)
            governance.record(admission, {"input_tokens": 1000, "output_tokens": 100}, "req_1")
        await governance.stop()
        rows = await governance.usage.report("model", None, None)
        registry = governance.metrics.registry
        unpriced = registry.get_sample_value(
            "finops_unpriced_requests_total", {"provider": "anthropic", "model": "mystery-model-1"}
        )
        cost = registry.get_sample_value(
            "finops_cost_usd_total", {"provider": "anthropic", "model": "claude-3-sonnet-20240229", "key": "none"}
        )
        await store.close()
        return rows, unpriced or 0, cost or 0

    rows, unpriced, cost = asyncio.run(run())
    by_model = {row["model"]: row for row in rows}
    assert by_model["mystery-model-1"]["unpriced_requests"] == 1
    assert by_model["mystery-model-1"]["cost_usd"] == 0  # NULL rows add nothing to the sum
    assert by_model["claude-3-sonnet-20240229"]["unpriced_requests"] == 0
    assert unpriced == 1
    assert abs(cost - (1000 * 3 + 100 * 15) / 1e6) < 1e-12
