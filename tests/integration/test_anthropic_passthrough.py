"""The Anthropic passthrough: everything SDK 2.14's types allow (and the betas Claude Code sends) reaches
Anthropic and comes back, through the official SDK: Claude Code's default model, ``role: "system"`` messages,
adaptive thinking with an effort, ``display: "updates"`` under its beta, top-level ``cache_control``,
``context_management`` and the billing block, streamed and not, and ``count_tokens`` of the same bodies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.support.emulator import EmulatorHandle
from tests.support.gateway import running_gateway
from tests.support.servers import serve_in_thread

CLAUDE_CODE_MODEL = "claude-opus-5-5"  # Claude Code 2.1.332's default with an API key
CLAUDE_CODE_BETAS = ["claude-code-20250219", "context-management-2025-06-27", "thinking-display-updates-2026-08-18"]
BILLING = {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332.bf1; cc_entrypoint=sdk-cli;"}


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    from finops.emulators.anthropic.app import create_app

    with serve_in_thread(create_app()) as url:
        yield EmulatorHandle(url)


@pytest.fixture(scope="module")
def client(emulator: EmulatorHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[anthropic.Anthropic]:
    database = tmp_path_factory.mktemp("passthrough") / "finops.db"
    providers = {"anthropic": {"api_key": UPSTREAM_KEY, "base_url": emulator.base_url}}
    with running_gateway(providers, f"sqlite+aiosqlite:///{database}") as base:
        yield anthropic.Anthropic(base_url=f"{base}/anthropic", api_key="caller", max_retries=0)


def claude_code_params(context: str) -> dict[str, Any]:
    """What Claude Code sends for its default model, cut down (see docs/compatibility.md, "Real clients"), for
    ``client.beta.messages`` (``?beta=true`` and the ``anthropic-beta`` header, as Claude Code sends them)."""
    return {
        "model": CLAUDE_CODE_MODEL,
        "max_tokens": 4000,
        "system": [BILLING, {"type": "text", "text": f"You are a careful agent. {context}"}],
        "messages": [
            {"role": "user", "content": "Hello"},
            {
                "role": "system",
                "content": [
                    {"type": "text", "text": "Answer in one short line.", "cache_control": {"type": "ephemeral"}}
                ],
            },
            {"role": "user", "content": "What is 3 + 4?"},
        ],
        "thinking": {"type": "adaptive", "display": "updates"},
        "output_config": {"effort": "medium"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "metadata": {"user_id": '{"device_id":"abc","account_uuid":"","session_id":"s-1"}'},
        "betas": CLAUDE_CODE_BETAS,
    }


def test_claude_codes_request_passes_through_and_back(client: anthropic.Anthropic) -> None:
    params = claude_code_params("Run one.")
    message = client.beta.messages.create(**params)
    thinking, text = message.content
    assert thinking.type == "thinking" and thinking.signature  # adaptive thinking came back signed
    assert text.type == "text" and "7" in text.text
    assert message.model == CLAUDE_CODE_MODEL
    with client.beta.messages.stream(**params) as stream:
        streamed = stream.get_final_message()
    assert [block.type for block in streamed.content] == ["thinking", "text"]
    assert streamed.usage.cache_read_input_tokens  # the system message's breakpoint, written by the first call


def test_effort_reaches_anthropic(client: anthropic.Anthropic) -> None:
    low = client.beta.messages.create(**{**claude_code_params("Effort."), "output_config": {"effort": "low"}})
    high = client.beta.messages.create(**{**claude_code_params("Effort."), "output_config": {"effort": "max"}})
    assert high.usage.output_tokens > low.usage.output_tokens  # the emulator thinks longer at a higher effort


def test_top_level_cache_control_writes_then_reads(client: anthropic.Anthropic) -> None:
    params: dict[str, Any] = {
        "model": CLAUDE_CODE_MODEL,
        "max_tokens": 200,
        "cache_control": {"type": "ephemeral"},
        "messages": [{"role": "user", "content": "A question about caching, asked once. " * 40}],
    }
    first = client.beta.messages.create(**params)
    second = client.beta.messages.create(**params)
    assert first.usage.cache_creation_input_tokens and not first.usage.cache_read_input_tokens
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.input_tokens > 0  # the reply's opening is never cached


def test_count_tokens_counts_what_anthropic_reads(client: anthropic.Anthropic) -> None:
    params = claude_code_params("Count me.")
    params.pop("max_tokens"), params.pop("metadata")
    counted = client.beta.messages.count_tokens(**params)
    without_system_message = client.beta.messages.count_tokens(**{**params, "messages": [params["messages"][0]]})
    assert counted.input_tokens > without_system_message.input_tokens > 0
    without_billing = client.beta.messages.count_tokens(**{**params, "system": params["system"][1:]})
    assert counted.input_tokens > without_billing.input_tokens  # the billing block reaches Anthropic too
    usage = client.beta.messages.create(**claude_code_params("Count me.")).usage  # the same body, first sent
    billed = usage.input_tokens + (usage.cache_creation_input_tokens or 0) + (usage.cache_read_input_tokens or 0)
    assert counted.input_tokens == billed


def test_an_unknown_model_is_anthropics_own_404(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.create(
            model="claude-no-such-model", max_tokens=10, messages=[{"role": "user", "content": "Hi"}]
        )
    assert "claude-no-such-model" in missing.value.body["error"]["message"]
