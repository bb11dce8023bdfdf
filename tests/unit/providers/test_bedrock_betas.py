"""Which ``anthropic-beta`` values reach Claude on Bedrock, and the native InvokeModel bodies batch records carry."""

from __future__ import annotations

from typing import Any

import pytest

from finops.core.errors import InvalidRequestError
from finops.core.params import parse_message_params
from finops.emulators.bedrock.invoke import BEDROCK_BETAS as EMULATED_BEDROCK_BETAS
from finops.providers.bedrock.betas import BEDROCK_BETAS, bedrock_betas
from finops.providers.bedrock.invoke import to_invoke_body
from finops.providers.bedrock.native import NOVA_SCHEMA_VERSION, to_model_input
from finops.providers.bedrock.translate import to_converse_request

JSON = dict[str, Any]

# What Claude Code 2.1.332 sends (docs/compatibility.md, "Real clients").
CLAUDE_CODE_BETAS = [
    "claude-code-20250219",
    "interleaved-thinking-2025-05-14",
    "context-management-2025-06-27",
    "advanced-tool-use-2025-11-20",
    "thinking-token-count-2026-05-13",
    "thinking-display-updates-2026-08-18",
    "effort-2025-11-24",
]
BODY: JSON = {"model": "us.anthropic.claude-sonnet-4-20250514-v1:0", "max_tokens": 100, "messages": []}


def test_claude_codes_betas_are_kept_renamed_or_dropped() -> None:
    betas = bedrock_betas(CLAUDE_CODE_BETAS, BODY)
    assert betas.forwarded == [
        "claude-code-20250219",
        "interleaved-thinking-2025-05-14",
        "context-management-2025-06-27",
        "tool-search-tool-2025-10-19",  # Bedrock's name for Anthropic's tool search beta
        "thinking-display-updates-2026-08-18",
        "effort-2025-11-24",
    ]
    assert betas.dropped == ["thinking-token-count-2026-05-13"]


def test_a_beta_is_forwarded_once() -> None:
    betas = bedrock_betas(["tool-search-tool-2025-10-19", "advanced-tool-use-2025-11-20"], BODY)
    assert betas.forwarded == ["tool-search-tool-2025-10-19"]


@pytest.mark.parametrize(
    ("beta", "body", "field"),
    [
        ("mcp-client-2025-11-20", {"mcp_servers": [{"type": "url", "url": "https://x", "name": "x"}]}, "mcp_servers"),
        ("fast-mode-2026-02-01", {"speed": "fast"}, "speed"),
        ("code-execution-2025-08-25", {"tools": [{"type": "code_execution_20250825"}]}, "tools.0"),
        (
            "per-turn-control-2026-07-01",
            {"messages": [{"role": "system", "content": "x", "output_config": {"effort": "low"}}]},
            "messages.0.output_config",
        ),
    ],
)
def test_a_missing_beta_whose_field_the_body_uses_is_refused(beta: str, body: JSON, field: str) -> None:
    with pytest.raises(InvalidRequestError, match=rf"anthropic-beta: '{beta}' is not available .* uses {field}"):
        bedrock_betas([beta], {**BODY, **body})


def test_a_missing_beta_whose_field_is_absent_is_dropped() -> None:
    betas = bedrock_betas(["mcp-client-2025-11-20", "oauth-2025-04-20"], BODY)
    assert betas == type(betas)(forwarded=[], dropped=["mcp-client-2025-11-20", "oauth-2025-04-20"])


def test_the_emulator_accepts_exactly_what_the_gateway_forwards() -> None:
    # Two lists kept apart (the emulator stands for Bedrock and imports nothing of the gateway) must agree.
    assert EMULATED_BEDROCK_BETAS == BEDROCK_BETAS


# -- native InvokeModel bodies (batch records, issue 16) ------------------------------------------------------


def _params(model: str, **fields: Any) -> Any:
    return parse_message_params(
        {"model": model, "max_tokens": 200, "messages": [{"role": "user", "content": "Hi"}], **fields}
    )


def test_claudes_native_body_is_the_invoke_body() -> None:
    params = _params("anthropic.claude-3-5-haiku-20241022-v1:0", system="Be brief.")
    assert to_model_input(params) == to_invoke_body(params)


def test_novas_native_body_is_the_converse_request_with_its_extra_fields_on_top() -> None:
    params = _params("us.amazon.nova-2-lite-v1:0", top_k=20, thinking={"type": "adaptive"}, temperature=0.5)
    converse = to_converse_request(params)
    native = to_model_input(params)
    assert native == {
        "schemaVersion": NOVA_SCHEMA_VERSION,
        "messages": converse["messages"],
        "inferenceConfig": {"maxTokens": 200, "temperature": 0.5, "topK": 20},
        "reasoningConfig": {"type": "enabled", "maxReasoningEffort": "high"},
    }


def test_nova_invoke_takes_no_documents() -> None:
    document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}}
    params = _params("amazon.nova-lite-v1:0", messages=[{"role": "user", "content": [document]}])
    with pytest.raises(InvalidRequestError, match="Nova's InvokeModel takes no documents"):
        to_model_input(params)


def test_families_without_a_native_body_are_pointed_to_converse() -> None:
    with pytest.raises(InvalidRequestError, match="no native InvokeModel body for this family; use Converse"):
        to_model_input(_params("meta.llama3-1-8b-instruct-v1:0"))
