"""Helpers for the response-cache tests: the four emulators, a gateway's provider settings, the SDK client with
cache headers, and reading what the cache did from an answer's headers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anthropic
import httpx

from finops.emulators.anthropic.app import create_app as anthropic_app
from finops.emulators.bedrock.app import create_app as bedrock_app
from finops.emulators.gemini.app import create_app as gemini_app
from finops.emulators.openai.app import create_app as openai_app
from tests.conftest import UPSTREAM_KEY
from tests.support.emulator import EmulatorHandle
from tests.support.governance import wait_for
from tests.support.servers import serve_in_thread

BEDROCK_CREDENTIALS = {"access_key_id": "AKIAFINOPSEMULATOR", "secret_access_key": "finops-emulator-secret"}
MODELS = {
    "anthropic": "claude-3-5-haiku-20241022",
    "openai": "gpt-4o-mini",
    "gemini": "gemini-2.5-flash",
    "bedrock": "anthropic.claude-3-5-sonnet-20240620-v1:0",
}
PROVIDERS = tuple(MODELS)
EMBEDDING = {"provider": "openai", "model": "text-embedding-3-small", "dimensions": 256}


@contextmanager
def running_emulators() -> Iterator[dict[str, EmulatorHandle]]:
    """The four emulators as real HTTP servers."""
    with (
        serve_in_thread(anthropic_app(batch_seconds=1.0)) as anthropic_url,
        serve_in_thread(openai_app(batch_seconds=1.0)) as openai_url,
        serve_in_thread(gemini_app(batch_seconds=1.0)) as gemini_url,
        serve_in_thread(bedrock_app(**BEDROCK_CREDENTIALS)) as bedrock_url,
    ):
        yield {
            "anthropic": EmulatorHandle(anthropic_url),
            "openai": EmulatorHandle(openai_url),
            "gemini": EmulatorHandle(gemini_url),
            "bedrock": EmulatorHandle(bedrock_url),
        }


def provider_settings(emulators: dict[str, EmulatorHandle]) -> dict[str, Any]:
    return {
        "anthropic": {"api_key": UPSTREAM_KEY, "base_url": emulators["anthropic"].base_url},
        "openai": {"api_key": "openai-upstream-key", "base_url": f"{emulators['openai'].base_url}/v1"},
        "gemini": {"api_key": "gemini-upstream-key", "base_url": emulators["gemini"].base_url},
        "bedrock": {"region": "us-east-1", "base_url": emulators["bedrock"].base_url, **BEDROCK_CREDENTIALS},
    }


def cache_section(**overrides: Any) -> dict[str, Any]:
    return {"enabled": True, "mode": "semantic", "embedding": EMBEDDING, **overrides}


def client(base: str, provider: str, key: str = "dummy-key-for-cache-tests", **headers: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=f"{base}/anthropic",
        api_key=key,
        max_retries=0,
        default_headers={"x-model-provider": provider, **headers},
    )


def ask(text: str, provider: str, *, history: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    messages = [*(history or []), {"role": "user", "content": text}]
    return {"model": MODELS[provider], "max_tokens": 200, "messages": messages, **extra}


def create(sdk: anthropic.Anthropic, params: dict[str, Any], **headers: str) -> tuple[Any, httpx.Headers]:
    raw = sdk.messages.with_raw_response.create(**params, extra_headers=headers or None)
    return raw.parse(), raw.headers


def stream(sdk: anthropic.Anthropic, params: dict[str, Any], **headers: str) -> tuple[Any, httpx.Headers, list[str]]:
    with sdk.messages.stream(**params, extra_headers=headers or None) as events:
        kinds = [event.type for event in events]
        return events.get_final_message(), events.response.headers, kinds


def content(message: Any) -> list[dict[str, Any]]:
    return [block.model_dump(exclude_none=True) for block in message.content]


def chat_calls(emulator: EmulatorHandle) -> int:
    """Upstream calls that were not embeddings (the semantic layer's own calls go to OpenAI's /embeddings)."""
    return sum(1 for request in emulator.requests() if "embed" not in request.get("path", ""))


def wait_stored(sdk: anthropic.Anthropic, params: dict[str, Any]) -> None:
    """Answers are stored behind the response: ask with no-store until the entry is visible (to another process)."""
    wait_for(
        lambda: create(sdk, params, **{"x-finops-cache-no-store": "true"})[1]["x-finops-cache"] == "hit", timeout=10
    )
