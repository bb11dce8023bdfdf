"""The response cache's pure parts: request keys, controls, the vector index, stream replay and assembly, and the
service's TTL and eviction against a real store with a clock the test moves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from finops.cache.controls import CacheControls, CacheDefaults, controls_from_headers, resolve
from finops.cache.index import PROMOTE_AT, SemanticIndex, unit
from finops.cache.keys import request_keys
from finops.cache.service import ResponseCache
from finops.cache.stream import MessageAssembler, replay
from finops.config import CacheSettings
from finops.core.errors import InvalidRequestError
from finops.core.types import Principal
from finops.store.cache import CacheRepository
from finops.store.db import create_engine, migrate

BODY: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "max_tokens": 100,
    "system": "Be brief.",
    "messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "What is the capital of France?"},
    ],
}


def keys(body: dict[str, Any], namespace: str = "anon:a", provider: str = "openai", **options: Any) -> Any:
    return request_keys(namespace, provider, body, semantic=True, **options)


def test_what_the_exact_key_ignores_and_what_it_does_not() -> None:
    base = keys(BODY).exact
    blocks = {
        **BODY,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
            *BODY["messages"][1:],
        ],
    }
    for same in (
        {**BODY, "stream": True},
        {**BODY, "metadata": {"user_id": "u1"}},
        {**BODY, "service_tier": "auto"},
        blocks,  # a string is its one text block; breakpoints are not part of the question
        dict(reversed(list(BODY.items()))),  # key order
    ):
        assert keys(same).exact == base
    for different in (
        {**BODY, "max_tokens": 101},
        {**BODY, "temperature": 0.5},
        {**BODY, "system": "Be long."},
        {**BODY, "tools": [{"name": "t", "input_schema": {"type": "object"}}]},
        {**BODY, "thinking": {"type": "enabled", "budget_tokens": 1024}},
        {**BODY, "output_config": {"effort": "low"}},
        {**BODY, "container": "c1"},  # a field the key does not know still counts
    ):
        assert keys(different).exact != base
    assert keys(BODY, namespace="anon:b").exact != base
    assert keys(BODY, provider="gemini").exact != base
    assert keys(BODY, beta="files-api-2025-04-14").exact != base
    assert keys(BODY, beta="b, a").exact == keys(BODY, beta="a,b").exact


def test_the_semantic_context_is_everything_but_the_last_user_text() -> None:
    base = keys(BODY)
    assert base.question == "What is the capital of France?"
    reworded = {**BODY, "messages": [*BODY["messages"][:-1], {"role": "user", "content": "capital of france?"}]}
    assert keys(reworded).context == base.context and keys(reworded).exact != base.exact
    earlier = {**BODY, "messages": [BODY["messages"][0], {"role": "assistant", "content": "Hey"}, BODY["messages"][2]]}
    assert keys(earlier).context != base.context
    image = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    with_image = {
        **BODY,
        "messages": [*BODY["messages"][:-1], {"role": "user", "content": [image, {"type": "text", "text": "What?"}]}],
    }
    assert keys(with_image).context != base.context and keys(with_image).question == "What?"
    prefill = {**BODY, "messages": [*BODY["messages"], {"role": "assistant", "content": "Paris"}]}
    assert keys(prefill).context is None  # the last turn is not the user's: exact layer only
    tool_result = {"type": "tool_result", "tool_use_id": "t1", "content": "42"}
    only_results = {**BODY, "messages": [*BODY["messages"][:-1], {"role": "user", "content": [tool_result]}]}
    assert keys(only_results).context is None


def test_controls_from_headers_and_their_precedence() -> None:
    assert controls_from_headers({}) == CacheControls()
    parsed = controls_from_headers(
        {
            "x-finops-cache": "Semantic",
            "x-finops-cache-ttl": "60",
            "x-finops-cache-threshold": "0.9",
            "x-finops-cache-no-store": "true",
        }
    )
    assert parsed == CacheControls(mode="semantic", ttl_seconds=60, threshold=0.9, no_store=True)
    for headers in (
        {"x-finops-cache": "always"},
        {"x-finops-cache-ttl": "-1"},
        {"x-finops-cache-ttl": "1.5"},
        {"x-finops-cache-threshold": "inf"},
        {"x-finops-cache-store-truncated": "y"},
    ):
        with pytest.raises(InvalidRequestError, match=next(iter(headers))):
            controls_from_headers(headers)
    defaults = CacheDefaults(mode="off", ttl_seconds=3600, threshold=0.95, store_truncated=False)
    key = CacheControls(mode="exact", threshold=0.8)
    assert resolve(defaults, key, CacheControls()).mode == "exact"
    policy = resolve(defaults, key, CacheControls(mode="off", threshold=0.99))
    assert policy.mode == "off" and policy.explicit_off and policy.threshold == 0.99
    assert resolve(defaults, CacheControls(), CacheControls()).explicit_off is False


def test_index_groups_never_mix_and_large_groups_move_to_hnsw() -> None:
    rng = np.random.default_rng(7)
    index = SemanticIndex()
    vectors = [unit(rng.standard_normal(64)) for _ in range(PROMOTE_AT + 50)]
    for seq, vector in enumerate(vectors):
        index.add(b"big", seq, vector)
    index.add(b"other", 10_000, vectors[3])
    near = unit(vectors[3] + 0.01 * rng.standard_normal(64))
    match = index.search(b"big", near)
    assert match is not None and match.seq == 3 and match.similarity > 0.99
    assert index.search(b"other", near).seq == 10_000  # type: ignore[union-attr]
    assert index.search(b"missing", near) is None
    index.remove(3)
    match = index.search(b"big", near)
    assert match is not None and match.seq != 3 and match.similarity < 0.9
    assert not index.add(b"big", 20_000, unit(rng.standard_normal(32)))  # another embedding size is refused
    small = SemanticIndex()
    small.add(b"g", 1, vectors[0])
    small.add(b"g", 2, vectors[1])
    small.remove(1)
    assert small.search(b"g", vectors[1]).seq == 2  # type: ignore[union-attr]
    small.remove(2)
    assert small.search(b"g", vectors[1]) is None and len(small) == 0


MESSAGES = [
    {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [
            {"type": "thinking", "thinking": "Let me think.", "signature": "sig=="},
            {
                "type": "text",
                "text": "Paris.",
                "citations": [{"type": "char_location", "cited_text": "P", "document_index": 0}],
            },
            {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"city": "Paris", "n": [1, 2]}},
            {"type": "tool_use", "id": "toolu_2", "name": "noop", "input": {}},
            {"type": "redacted_thinking", "data": "xyz"},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "output_tokens": 20,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 5,
        },
    },
    {
        "id": "msg_2",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [{"type": "text", "text": "Hi"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 1,
            "output_tokens": 1,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    },
]


@pytest.mark.parametrize("message", MESSAGES, ids=["blocks", "text"])
def test_replay_then_assemble_gives_the_message_back(message: dict[str, Any]) -> None:
    frames = replay(message)
    assert frames[0].startswith(b"event: message_start") and frames[1].startswith(b"event: ping")
    assert frames[-1] == b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    assembler = MessageAssembler()
    for frame in frames:
        for piece in (frame[:7], frame[7:]):  # frames cut anywhere still assemble
            assembler.feed(piece)
    assert assembler.message == message


def test_an_incomplete_or_failed_stream_is_never_assembled() -> None:
    frames = replay(MESSAGES[1])
    cut = MessageAssembler()
    for frame in frames[:-1]:
        cut.feed(frame)
    assert cut.message is None
    failed = MessageAssembler()
    for frame in [*frames[:3], b'event: error\ndata: {"type":"error","error":{"type":"api_error"}}\n\n']:
        failed.feed(frame)
    assert failed.message is None


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the gateway runs on asyncio (uvloop)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.anyio
async def test_ttl_and_lru_with_a_moving_clock(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cache.db'}")
    await migrate(engine)
    clock = Clock()
    cache = ResponseCache(
        CacheSettings(enabled=True, ttl_seconds=100, max_entries=2), CacheRepository(engine), clock=clock
    )
    principal = Principal(owner="anon:x")

    async def roundtrip(text: str) -> str:
        body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": text}]}
        lookup = cache.lookup(principal, "openai", body)
        assert lookup is not None
        if await lookup.find() is None:
            lookup.offer({**MESSAGES[1], "content": [{"type": "text", "text": text}]})
            await cache.settle()
        return lookup.status.result

    try:
        assert await roundtrip("a") == "miss"
        clock.now += 1
        assert await roundtrip("b") == "miss"
        clock.now += 1
        assert await roundtrip("a") == "hit"
        clock.now += 1
        assert await roundtrip("c") == "miss"  # over the cap: b, the least recently used, goes
        assert await roundtrip("a") == "hit"
        assert await roundtrip("c") == "hit"
        fresh = ResponseCache(CacheSettings(enabled=True), CacheRepository(engine), clock=clock)
        await fresh.sync()  # a process starting now mirrors what the store holds
        assert len(fresh.mirror) == 2
        clock.now += 101
        assert await roundtrip("a") == "miss"  # expired
    finally:
        await cache.stop()
        await engine.dispose()
