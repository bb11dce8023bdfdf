"""The response cache through the official ``anthropic`` SDK, on every provider: exact and semantic hits and
misses, streams replayed from non-streamed entries and the reverse, TTL, no-store, truncated answers, errors,
eviction at the cap, the ledger's ``cache_hit``/``saved_usd``, billed embeddings and the request headers.

The emulators are real HTTP servers; a hit is proven by the answer *and* by the upstream not being called."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from decimal import Decimal

import anthropic
import httpx
import pytest

from tests.support.cache import (
    PROVIDERS,
    ask,
    cache_section,
    chat_calls,
    client,
    content,
    create,
    provider_settings,
    running_emulators,
    stream,
)
from tests.support.emulator import EmulatorHandle
from tests.support.gateway import running_gateway
from tests.support.governance import ADMIN, create_key, governance_section, report, wait_for


@pytest.fixture(scope="module")
def emulators() -> Iterator[dict[str, EmulatorHandle]]:
    with running_emulators() as handles:
        yield handles


@pytest.fixture
def gateway(emulators: dict[str, EmulatorHandle], sqlite_url: str) -> Iterator[str]:
    sections = {"governance": governance_section(), "cache": cache_section()}
    with running_gateway(provider_settings(emulators), sqlite_url, **sections) as base:
        yield base


@pytest.mark.parametrize("provider", PROVIDERS)
def test_exact_hits_and_misses_streamed_and_not(
    provider: str, gateway: str, emulators: dict[str, EmulatorHandle]
) -> None:
    sdk = client(gateway, provider, **{"x-finops-cache": "exact"})
    upstream = emulators[provider]
    first, headers = create(sdk, ask("Name three primary colours.", provider))
    assert headers["x-finops-cache"] == "miss"
    calls = chat_calls(upstream)

    again, headers = create(sdk, ask("Name three primary colours.", provider))
    assert headers["x-finops-cache"] == "hit"
    assert "x-finops-cache-similarity" not in headers
    assert content(again) == content(first) and again.usage == first.usage and again.stop_reason == first.stop_reason
    assert again.id != first.id and again.id.startswith("msg_")

    # The non-streamed entry replayed as a stream: the SDK sees a live stream's events and the same message.
    streamed, headers, kinds = stream(sdk, ask("Name three primary colours.", provider))
    assert headers["x-finops-cache"] == "hit"
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop" and "content_block_stop" in kinds
    assert content(streamed) == content(first) and streamed.usage == first.usage
    assert chat_calls(upstream) == calls  # neither hit reached the provider

    # The reverse: a streamed live answer, stored once complete, answers a non-streamed request.
    live, headers, _ = stream(sdk, ask("Name three kinds of cloud.", provider))
    assert headers["x-finops-cache"] == "miss"
    wait_for(lambda: create(sdk, ask("Name three kinds of cloud.", provider))[1]["x-finops-cache"] == "hit", timeout=5)
    calls = chat_calls(upstream)
    served, headers = create(sdk, ask("Name three kinds of cloud.", provider))
    assert headers["x-finops-cache"] == "hit"
    assert content(served) == content(live) and served.usage == live.usage
    assert chat_calls(upstream) == calls

    # Anything that changes the answer changes the key.
    _, headers = create(sdk, ask("Name three primary colours.", provider, stop_sequences=["zebra"]))
    assert headers["x-finops-cache"] == "miss"
    _, headers = create(sdk, ask("Name three primary colours.", provider, system="Answer in French."))
    assert headers["x-finops-cache"] == "miss"
    # ...and what does not, does not.
    _, headers = create(sdk, ask("Name three primary colours.", provider, metadata={"user_id": "someone-else"}))
    assert headers["x-finops-cache"] == "hit"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_semantic_hits_and_misses(provider: str, gateway: str, emulators: dict[str, EmulatorHandle]) -> None:
    sdk = client(gateway, provider, **{"x-finops-cache": "semantic"})
    history = [
        {"role": "user", "content": "I use the billing portal."},
        {"role": "assistant", "content": "Understood, the billing portal."},
    ]
    first, headers = create(sdk, ask("How do I reset my password?", provider, history=history))
    assert headers["x-finops-cache"] == "miss"
    calls = chat_calls(emulators[provider])

    paraphrase, headers = create(sdk, ask("how do I reset my passwords", provider, history=history))
    assert headers["x-finops-cache"] == "hit"
    assert float(headers["x-finops-cache-similarity"]) >= 0.95
    assert content(paraphrase) == content(first)

    streamed, headers, _ = stream(sdk, ask("How do i reset my Password", provider, history=history))
    assert headers["x-finops-cache"] == "hit" and content(streamed) == content(first)
    assert chat_calls(emulators[provider]) == calls

    _, headers = create(sdk, ask("How do I delete my account?", provider, history=history))
    assert headers["x-finops-cache"] == "miss"  # a different question
    other_history = [history[0], {"role": "assistant", "content": "Understood, the mobile app."}]
    _, headers = create(sdk, ask("How do I reset my password?", provider, history=other_history))
    assert headers["x-finops-cache"] == "miss"  # the same question after a different earlier turn
    strict = {"x-finops-cache-threshold": "0.9999"}
    _, headers = create(sdk, ask("how do I reset my passwords", provider, history=history), **strict)
    assert headers["x-finops-cache"] == "miss"  # the paraphrase is not close enough for this threshold


def shape(kinds: list[str]) -> list[str]:
    return [kind for kind in kinds if kind not in ("ping", "content_block_delta", "text", "thinking", "input_json")]


def test_tool_use_and_thinking_replayed(gateway: str) -> None:
    """Blocks with their own deltas (``input_json_delta``, ``thinking_delta`` + ``signature_delta``) survive a
    stream stored and replayed either way."""
    sdk = client(gateway, "anthropic", **{"x-finops-cache": "exact"})
    tools = [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        }
    ]
    params = ask(
        "What is the weather in Paris? Use the tool.",
        "anthropic",
        tools=tools,
        tool_choice={"type": "auto"},
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    live, headers, kinds = stream(sdk, params)
    assert headers["x-finops-cache"] == "miss"
    blocks = content(live)
    assert {block["type"] for block in blocks} >= {"thinking", "tool_use"}
    wait_for(lambda: create(sdk, params)[1]["x-finops-cache"] == "hit", timeout=5)
    replayed, headers, replayed_kinds = stream(sdk, params)
    assert headers["x-finops-cache"] == "hit"
    assert content(replayed) == blocks and replayed.stop_reason == live.stop_reason == "tool_use"
    # The same envelope and blocks; a live stream splits its text into more deltas than a replay does.
    assert shape(replayed_kinds) == shape(kinds) and set(replayed_kinds) == set(kinds)
    thinking = next(block for block in content(replayed) if block["type"] == "thinking")
    assert thinking["signature"] and thinking["thinking"]


def test_ttl_no_store_truncation_and_errors(gateway: str, emulators: dict[str, EmulatorHandle]) -> None:
    sdk = client(gateway, "openai", **{"x-finops-cache": "exact"})
    _, headers = create(sdk, ask("Short-lived answer, please.", "openai"), **{"x-finops-cache-ttl": "1"})
    assert headers["x-finops-cache"] == "miss"
    assert create(sdk, ask("Short-lived answer, please.", "openai"))[1]["x-finops-cache"] == "hit"
    time.sleep(1.2)
    assert create(sdk, ask("Short-lived answer, please.", "openai"))[1]["x-finops-cache"] == "miss"

    no_store = {"x-finops-cache-no-store": "true"}
    assert create(sdk, ask("Do not keep this.", "openai"), **no_store)[1]["x-finops-cache"] == "miss"
    assert create(sdk, ask("Do not keep this.", "openai"), **no_store)[1]["x-finops-cache"] == "miss"

    cut = ask("Write a long essay about the history of rivers and bridges.", "openai", max_tokens=5)
    message, headers = create(sdk, cut)
    assert message.stop_reason == "max_tokens" and headers["x-finops-cache"] == "miss"
    assert create(sdk, cut)[1]["x-finops-cache"] == "miss"  # not stored by default
    asked = {"x-finops-cache-store-truncated": "true"}
    assert create(sdk, cut, **asked)[1]["x-finops-cache"] == "miss"
    assert create(sdk, cut)[1]["x-finops-cache"] == "hit"

    emulators["openai"].fail_next(500, path_prefix="/v1/chat")
    with pytest.raises(anthropic.APIStatusError):
        create(sdk, ask("This one fails first.", "openai"))
    assert create(sdk, ask("This one fails first.", "openai"))[1]["x-finops-cache"] == "miss"  # errors not stored

    _, headers = create(
        client(gateway, "openai", **{"x-finops-cache": "off"}), ask("Short-lived answer, please.", "openai")
    )
    assert headers["x-finops-cache"] == "bypass"


def test_bad_cache_headers_are_400(gateway: str) -> None:
    sdk = client(gateway, "openai")
    for name, value in [
        ("x-finops-cache", "sometimes"),
        ("x-finops-cache-ttl", "0"),
        ("x-finops-cache-ttl", "ten"),
        ("x-finops-cache-threshold", "1.5"),
        ("x-finops-cache-threshold", "nan"),
        ("x-finops-cache-no-store", "maybe"),
    ]:
        with pytest.raises(anthropic.BadRequestError) as caught:
            create(sdk, ask("Hello", "openai"), **{name: value})
        body = caught.value.body
        assert isinstance(body, dict) and body["error"]["type"] == "invalid_request_error"
        assert name in body["error"]["message"]


def test_semantic_needs_an_embedding_model(emulators: dict[str, EmulatorHandle], sqlite_url: str) -> None:
    with running_gateway(provider_settings(emulators), sqlite_url, cache={"enabled": True}) as base:
        sdk = client(base, "openai")
        assert create(sdk, ask("Hello there", "openai"))[1]["x-finops-cache"] == "miss"
        with pytest.raises(anthropic.BadRequestError, match=r"cache\.embedding"):
            create(sdk, ask("Hello there", "openai"), **{"x-finops-cache": "semantic"})


def metric(base: str, name: str) -> float:
    text = httpx.get(f"{base}/metrics").text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def test_eviction_at_the_cap(emulators: dict[str, EmulatorHandle], sqlite_url: str) -> None:
    sections = {"governance": governance_section(), "cache": cache_section(mode="exact", max_entries=3)}
    with running_gateway(provider_settings(emulators), sqlite_url, **sections) as base:
        sdk = client(base, "openai")
        for text in ("Question A?", "Question B?", "Question C?"):
            assert create(sdk, ask(text, "openai"))[1]["x-finops-cache"] == "miss"
        wait_for(lambda: metric(base, "finops_cache_entries") == 3, timeout=5)
        assert create(sdk, ask("Question A?", "openai"))[1]["x-finops-cache"] == "hit"  # A is now the most recent
        assert create(sdk, ask("Question D?", "openai"))[1]["x-finops-cache"] == "miss"
        wait_for(lambda: metric(base, "finops_cache_evictions_total") >= 1, timeout=5)
        assert create(sdk, ask("Question A?", "openai"))[1]["x-finops-cache"] == "hit"
        assert create(sdk, ask("Question C?", "openai"))[1]["x-finops-cache"] == "hit"
        assert create(sdk, ask("Question D?", "openai"))[1]["x-finops-cache"] == "hit"
        assert create(sdk, ask("Question B?", "openai"))[1]["x-finops-cache"] == "miss"  # the least recently used


def test_ledger_saving_equals_the_live_cost_and_embeddings_are_billed(gateway: str) -> None:
    exact = create_key(gateway, "exact-saver", cache={"mode": "exact"})
    sdk = client(gateway, "openai", exact["key"])
    _, headers = create(sdk, ask("What does a FinOps team do?", "openai"))
    assert headers["x-finops-cache"] == "miss"
    for _ in range(2):
        assert create(sdk, ask("What does a FinOps team do?", "openai"))[1]["x-finops-cache"] == "hit"
    row = next(row for row in report(gateway)["data"] if row["key_id"] == exact["id"])
    assert row["requests"] == 3 and row["cache_hits"] == 2
    live_cost = Decimal(str(row["cost_usd"]))  # only the miss cost money
    assert live_cost > 0
    assert abs(Decimal(str(row["saved_usd"])) - 2 * live_cost) <= 2 * live_cost * Decimal("0.001")

    semantic = create_key(gateway, "semantic-saver")  # the gateway's default: semantic
    sdk = client(gateway, "openai", semantic["key"])
    assert create(sdk, ask("What does a platform team do?", "openai"))[1]["x-finops-cache"] == "miss"
    assert create(sdk, ask("what does a platform team do", "openai"))[1]["x-finops-cache"] == "hit"
    by_model = {row["model"]: row for row in report(gateway, "model")["data"]}
    embedding = by_model["text-embedding-3-small"]
    assert embedding["requests"] == 2 and embedding["input_tokens"] > 0 and embedding["cost_usd"] > 0
    metrics = httpx.get(f"{gateway}/metrics").text
    assert 'finops_cache_requests_total{result="hit"}' in metrics
    assert metric(gateway, "finops_cache_saved_usd_total") > 0

    # The daily rollups (console, FOCUS export) carry the same savings as the ledger.
    export = httpx.get(f"{gateway}/admin/usage/export", headers=ADMIN, params={"format": "csv"}, timeout=30)
    assert export.status_code == 200, export.text
    lines = list(csv.DictReader(io.StringIO(export.text)))
    exported = sum(Decimal(line["saved_usd"] or "0") for line in lines)
    reported = Decimal(str(report(gateway)["total"]["saved_usd"]))
    assert reported > 0 and abs(exported - reported) <= reported * Decimal("0.001")


def test_key_cache_settings_through_the_admin_api(gateway: str) -> None:
    key = create_key(gateway, "no-cache", cache={"mode": "off"})
    assert key["cache"] == {"mode": "off"}
    sdk = client(gateway, "openai", key["key"])
    assert create(sdk, ask("Is this cached?", "openai"))[1]["x-finops-cache"] == "bypass"
    changed = httpx.patch(
        f"{gateway}/admin/keys/{key['id']}", headers=ADMIN, json={"cache": {"mode": "exact", "ttl_seconds": 60}}
    ).json()
    assert changed["cache"] == {"mode": "exact", "ttl_seconds": 60}
    bad = httpx.post(f"{gateway}/admin/keys", headers=ADMIN, json={"name": "bad", "cache": {"threshold": 3}})
    assert bad.status_code == 400 and "cache.threshold" in bad.json()["error"]["message"]
