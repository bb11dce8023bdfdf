"""``MessageService``: the parse and the field policy run before the adapter, and change nothing they accept, so the
Anthropic passthrough still forwards the client's own bytes."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from finops.core.errors import InvalidRequestError
from finops.core.messages import MessageService
from finops.core.types import JSON, Principal
from finops.providers.base import CallContext, Capabilities
from finops.providers.registry import ProviderRegistry


class RecordingProvider:
    """Records what the core hands an adapter; answers nothing useful."""

    capabilities = Capabilities()

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[tuple[JSON, bytes | None]] = []

    async def create_message(self, body: JSON, ctx: CallContext) -> JSON:
        self.calls.append((body, ctx.raw_body))
        return {"type": "message"}

    async def count_tokens(self, body: JSON, ctx: CallContext) -> JSON:
        self.calls.append((body, ctx.raw_body))
        return {"input_tokens": 1}


def service(*names: str) -> tuple[MessageService, dict[str, RecordingProvider]]:
    providers = {name: RecordingProvider(name) for name in names}
    files: Any = None  # bodies here reference no file: the file store is never asked
    return MessageService(ProviderRegistry(providers), files), providers  # type: ignore[arg-type]


PRINCIPAL = Principal(owner="owner")
# Odd spacing and key order on purpose: only the client's own bytes look like this.
RAW = b'{ "messages" : [ {"content": "hi", "role": "user"} ], "max_tokens": 5,  "model": "claude-x", "zz": {"b": 1} }'


def test_an_unchanged_body_reaches_anthropic_as_the_client_sent_it() -> None:
    messages, providers = service("anthropic")
    body = orjson.loads(RAW)
    ctx = CallContext(request_id="r", raw_body=RAW)
    asyncio.run(messages.create(PRINCIPAL, "anthropic", body, ctx))
    forwarded, raw = providers["anthropic"].calls[0]
    assert forwarded is body and raw == RAW


def test_a_refused_feature_never_reaches_the_adapter() -> None:
    messages, providers = service("openai")
    body = {"model": "gpt-4o-mini", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "top_k": 3}
    with pytest.raises(InvalidRequestError, match=r"^top_k: not supported by provider 'openai' \(model gpt-4o-mini\)"):
        asyncio.run(messages.create(PRINCIPAL, "openai", body, CallContext(request_id="r")))
    with pytest.raises(InvalidRequestError, match=r"^top_k: not supported by provider 'openai'"):
        messages.stream(PRINCIPAL, "openai", body, CallContext(request_id="r"))
    counted = {key: value for key, value in body.items() if key != "max_tokens"}
    with pytest.raises(InvalidRequestError, match=r"^top_k: not supported by provider 'openai'"):
        asyncio.run(messages.count_tokens(PRINCIPAL, "openai", counted, CallContext(request_id="r")))
    assert providers["openai"].calls == []


def test_the_policy_judges_the_provider_a_model_prefix_chooses() -> None:
    messages, providers = service("anthropic", "openai")
    body = orjson.loads(RAW) | {"model": "openai/gpt-4o", "zz": None}
    ctx = CallContext(request_id="r", raw_body=RAW)
    asyncio.run(messages.create(PRINCIPAL, "anthropic", body, ctx))
    forwarded, raw = providers["openai"].calls[0]
    assert forwarded["model"] == "gpt-4o" and raw is None  # the body changed: the client's bytes no longer fit
    with pytest.raises(InvalidRequestError, match=r"^zz: not supported by provider 'openai' \(model gpt-4o\)"):
        asyncio.run(messages.create(PRINCIPAL, "anthropic", orjson.loads(RAW) | {"model": "openai/gpt-4o"}, ctx))


def test_a_wrong_type_never_reaches_the_adapter() -> None:
    messages, providers = service("anthropic")
    body = orjson.loads(RAW) | {"system": 5}
    with pytest.raises(InvalidRequestError, match=r"^system: Input should be a valid list"):
        asyncio.run(messages.create(PRINCIPAL, "anthropic", body, CallContext(request_id="r", raw_body=RAW)))
    assert providers["anthropic"].calls == []


def test_translating_adapters_never_see_claude_codes_anthropic_only_features() -> None:
    messages, providers = service("anthropic", "gemini")
    billing = {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332.bf1; cc_entrypoint=sdk-cli;"}
    placeholder = {"name": "Hidden", "input_schema": {"type": "object"}, "defer_loading": True}
    body = {
        "model": "gemini-2.5-flash",
        "max_tokens": 5,
        "system": [billing, {"type": "text", "text": "Be brief."}],
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"name": "Read", "input_schema": {"type": "object"}}, placeholder],
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
    }
    raw = orjson.dumps(body)
    asyncio.run(messages.create(PRINCIPAL, "gemini", body, CallContext(request_id="r", raw_body=raw)))
    asyncio.run(messages.count_tokens(PRINCIPAL, "gemini", body, CallContext(request_id="r", raw_body=raw)))
    for forwarded, forwarded_raw in providers["gemini"].calls:
        assert forwarded["system"] == [{"type": "text", "text": "Be brief."}]
        assert [tool["name"] for tool in forwarded["tools"]] == ["Read"]
        assert "context_management" not in forwarded and forwarded_raw is None
    asyncio.run(
        messages.create(PRINCIPAL, "anthropic", body | {"model": "claude-opus-5-5"}, CallContext(request_id="r"))
    )
    assert providers["anthropic"].calls[0][0]["system"][0] == billing  # Anthropic's own: sent as it came
