"""The governance facade on its own: an unknown model is recorded with a NULL cost (never guessed) and counted
in the unpriced metric; a known one is priced and counted."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from finops.config import parse_settings
from finops.core.types import JSON, Principal
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


class _Stream:
    """A ``MessageStream`` whose usage grows as frames go out, as the relay's does."""

    def __init__(self, frames: list[tuple[bytes, dict[str, int]]]) -> None:
        self.usage: dict[str, int] | None = None
        self.error = None
        self.closed = False
        self._frames = frames

    def __aiter__(self) -> _Stream:
        return self

    async def __anext__(self) -> bytes:
        if not self._frames:
            raise StopAsyncIteration
        frame, self.usage = self._frames.pop(0)
        return frame

    async def aclose(self) -> None:
        self.closed = True


def test_a_stream_is_priced_from_the_usage_it_reports_even_when_abandoned(tmp_path: Path) -> None:
    start = {"input_tokens": 1000, "output_tokens": 1}
    # Frames go to the client as they come (only the stream's ending frame is held back until its row is
    # durable): the client got two frames, the upstream was read through the second, and that is what it cost.
    stream = _Stream(
        [
            (b"message_start", start),
            (b"delta", {**start, "output_tokens": 30}),
            (b"delta", {**start, "output_tokens": 50}),
            (b"stop", start),
        ]
    )

    async def run() -> list[dict]:
        settings = parse_settings({"database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'gov.db'}"}})
        store = await Store.open(settings.database.url)
        governance = Governance(settings, store.engine)
        await governance.start()

        async def open_stream() -> _Stream:
            return stream

        frames = governance.metered_stream(
            Principal(owner="anon:abc"), "anthropic", "claude-3-sonnet-20240229", "req_1", open_stream
        )
        assert [await anext(frames), await anext(frames)] == [b"message_start", b"delta"]
        await frames.aclose()  # the client went away
        await governance.stop()
        rows = await governance.usage.report("model", None, None)
        await store.close()
        return rows

    [row] = asyncio.run(run())
    assert (row["requests"], row["input_tokens"], row["output_tokens"]) == (1, 1000, 30)
    assert stream.closed


def _reserved(tmp_path: Path, provider: str, *calls: tuple[list[JSON], int]) -> list[Decimal | None]:
    """The worst case ``reserve_batch`` reserves for each ``(requests, on_demand_below)``, for an open-mode caller."""

    async def run() -> list[Decimal | None]:
        settings = parse_settings({"database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'gov.db'}"}})
        store = await Store.open(settings.database.url)
        governance = Governance(settings, store.engine)
        principal = Principal(owner="anon:abc")
        amounts = [
            (await governance.reserve_batch(principal, provider, requests, on_demand_below=below)).amount
            for requests, below in calls
        ]
        await store.close()
        return amounts

    return asyncio.run(run())


def test_a_batch_reserves_on_demand_models_at_the_on_demand_price(tmp_path: Path) -> None:
    """Bedrock runs a model's requests on demand below its job minimum: the worst case is priced as it will be."""
    model = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    requests: list[JSON] = [
        {"custom_id": f"r{index}", "params": {"model": model, "max_tokens": 1000, "messages": []}} for index in range(3)
    ]
    as_batch, on_demand = _reserved(tmp_path, "bedrock", (requests, 0), (requests, 100))
    assert as_batch is not None and on_demand is not None
    assert on_demand == 2 * as_batch  # Bedrock's batch price is half the on-demand one


def test_a_large_batch_reserves_what_its_requests_add_up_to(tmp_path: Path) -> None:
    """From 1,000 requests the estimate runs on a worker thread: the reservation is the same sum."""
    models = ["claude-3-5-sonnet-20240620", "claude-3-5-haiku-20241022"]
    requests: list[JSON] = [
        {"custom_id": f"r{index}", "params": {"model": models[index % 2], "max_tokens": 1000, "messages": []}}
        for index in range(1_500)
    ]
    large, small = _reserved(tmp_path, "anthropic", (requests, 0), (requests[:2], 0))
    assert large is not None and small is not None and small > 0
    assert large == 750 * small
