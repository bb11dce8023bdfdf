"""The CI-sized stream benchmark, correctness only: 200 concurrent paced streams through a real ``finops serve``
(Anthropic in, OpenAI Chat Completions upstream) all arrive complete and in order, and the ledger has a usage row
for each. No timing is asserted (``bench/streams.py`` measures that)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import anthropic

from tests.support.governance import ADMIN_KEY, create_key, key_row, wait_for
from tests.support.processes import gateway_process, paced_upstream

STREAMS = 200
EVENTS = 20
EXPECTED_TEXT = "".join(f"w{k} " for k in range(EVENTS))


async def _one_stream(client: anthropic.AsyncAnthropic, index: int) -> tuple[int, list[str], anthropic.types.Message]:
    deltas: list[str] = []
    async with client.messages.stream(
        model="gpt-4o-mini", max_tokens=100, messages=[{"role": "user", "content": f"stream {index}"}]
    ) as stream:
        async for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                deltas.append(event.delta.text)
        final = await stream.get_final_message()
    return index, deltas, final


async def _all_streams(base: str, key: str) -> list[tuple[int, list[str], anthropic.types.Message]]:
    client = anthropic.AsyncAnthropic(
        base_url=f"{base}/anthropic",
        api_key=key,
        default_headers={"x-model-provider": "openai"},
        max_retries=0,
        timeout=60,
    )
    async with client:
        return await asyncio.gather(*(_one_stream(client, index) for index in range(STREAMS)))


def test_200_concurrent_paced_streams_arrive_complete_in_order_and_are_all_billed(tmp_path: Path) -> None:
    with paced_upstream(first_ms=100, interval_ms=50, events=EVENTS) as upstream:
        settings = {
            "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'finops.db'}"},
            "providers": {"openai": {"api_key": "sk-upstream-test", "base_url": f"{upstream}/v1"}},
            "governance": {"admin_key": ADMIN_KEY},
        }
        with gateway_process(settings, tmp_path) as gateway:
            key = create_key(gateway.url, f"streams-{uuid.uuid4().hex[:8]}")
            results = asyncio.run(_all_streams(gateway.url, key["key"]))

            assert len(results) == STREAMS
            for index, deltas, final in results:
                # Every token, once, in the upstream's order, and a properly ended message.
                assert deltas == [f"w{k} " for k in range(EVENTS)], f"stream {index}: {deltas}"
                assert [block.text for block in final.content if block.type == "text"] == [EXPECTED_TEXT]
                assert final.stop_reason == "end_turn"
                assert final.usage.output_tokens == EVENTS

            row = wait_for(lambda: (r := key_row(gateway.url, key["id"])) and r["requests"] == STREAMS and r)
            assert row["output_tokens"] == STREAMS * EVENTS
