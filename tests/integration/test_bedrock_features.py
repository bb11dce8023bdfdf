"""Today's Anthropic API on Bedrock (issue 12), through the official ``anthropic`` SDK, the gateway and the Bedrock
emulator (which checks what real Bedrock checks: Claude's reasoning signatures, the betas it offers, Converse shapes).

Claude goes through InvokeModel, Nova through Converse; Claude over Converse (the path of model IDs the gateway
cannot place, and of Converse batch jobs) is driven through the translators and boto3's own client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import boto3
import jsonschema
import pytest
from botocore.config import Config

from finops.core.params import parse_message_params
from finops.emulators.bedrock.app import create_app as bedrock_emulator_app
from finops.providers.bedrock.answers import from_converse_response
from finops.providers.bedrock.translate import plan_converse
from tests.support.emulator import EmulatorHandle
from tests.support.gateway import running_gateway
from tests.support.governance import create_key, governed_gateway, key_row, wait_for
from tests.support.servers import serve_in_thread

KEY_ID = "AKIAFINOPSEMULATOR"
SECRET = "finops-emulator-secret"
CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "amazon.nova-lite-v1:0"
NOVA_2 = "us.amazon.nova-2-lite-v1:0"
BEDROCK = {"x-model-provider": "bedrock"}

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "temperature_c": {"type": "number"},
        "conditions": {"type": "string", "enum": ["sunny", "cloudy", "rain", "snow"]},
    },
    "required": ["city", "temperature_c", "conditions"],
    "additionalProperties": False,
}
READ_FILE = {
    "name": "read_file",
    "description": "Read a text file from disk.",
    "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
}
LONG_SYSTEM = "\n".join(f"Rule {n}: answer politely and cite the rule you applied." for n in range(1, 300))


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with serve_in_thread(bedrock_emulator_app(access_key_id=KEY_ID, secret_access_key=SECRET)) as url:
        yield EmulatorHandle(url)


@pytest.fixture(scope="module")
def gateway(emulator: EmulatorHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A governed gateway (its ledger prices every call) in front of the emulator; yields its base URL."""
    database = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('bedrock-features') / 'finops.db'}"
    providers = {
        "bedrock": {
            "region": "us-east-1",
            "base_url": emulator.base_url,
            "access_key_id": KEY_ID,
            "secret_access_key": SECRET,
        }
    }
    with governed_gateway(emulator, database, providers=providers) as base:
        yield base


def client(gateway: str, name: str = "bedrock-features") -> anthropic.Anthropic:
    key = create_key(gateway, name)
    return anthropic.Anthropic(
        base_url=f"{gateway}/anthropic", api_key=key["key"], default_headers=BEDROCK, max_retries=0
    )


def text_of(message: Any) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


# -- structured output ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [CLAUDE, NOVA])
@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_structured_output_is_json_of_the_schema(gateway: str, model: str, stream: bool) -> None:
    sdk = client(gateway)
    request: dict[str, Any] = {
        "model": model,
        "max_tokens": 512,
        "messages": [{"role": "user", "content": "Describe the weather in Paris today."}],
        "output_config": {"format": {"type": "json_schema", "schema": WEATHER_SCHEMA}},
    }
    if stream:
        with sdk.messages.stream(**request) as events:
            message = events.get_final_message()
    else:
        message = sdk.messages.create(**request)
    assert message.stop_reason == "end_turn"
    assert [block.type for block in message.content] == ["text"]
    answer = json.loads(text_of(message))
    jsonschema.validate(answer, WEATHER_SCHEMA)
    assert answer["city"] == "Paris"


def test_structured_output_with_tools_on_nova_still_calls_the_tool_first(gateway: str) -> None:
    message = client(gateway).messages.create(
        model=NOVA,
        max_tokens=512,
        tools=[READ_FILE],
        messages=[{"role": "user", "content": "Use the read_file tool to read /tmp/weather.txt"}],
        output_config={"format": {"type": "json_schema", "schema": WEATHER_SCHEMA}},
    )
    assert message.stop_reason == "tool_use"
    assert [block.type for block in message.content] == ["tool_use"]
    assert message.content[0].name == "read_file"  # type: ignore[union-attr]


# -- thinking -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_claude_thinking_signatures_survive_a_tool_round_trip(gateway: str, stream: bool) -> None:
    """The emulator refuses, as Bedrock does, a tool round trip whose thinking block is missing or altered."""
    sdk = client(gateway)
    ask = {"role": "user", "content": "Use the read_file tool to read /tmp/notes.txt"}
    request: dict[str, Any] = {
        "model": CLAUDE,
        "max_tokens": 4096,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "tools": [READ_FILE],
    }

    def ask_with(messages: list[Any]) -> Any:
        if stream:
            with sdk.messages.stream(**request, messages=messages) as events:
                return events.get_final_message()
        return sdk.messages.create(**request, messages=messages)

    first = ask_with([ask])
    assert [block.type for block in first.content] == ["thinking", "tool_use"]
    assert first.content[0].signature  # type: ignore[union-attr]
    call = first.content[1]
    result = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "token 42"}]}  # type: ignore[union-attr]
    second = ask_with([ask, {"role": "assistant", "content": first.content}, result])
    assert second.content[0].type == "thinking" and "token 42" in text_of(second)
    forged = first.content[0].model_dump() | {"signature": "Zm9yZ2Vk"}
    with pytest.raises(anthropic.BadRequestError, match="Invalid `signature`"):
        ask_with([ask, {"role": "assistant", "content": [forged, call]}, result])


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_nova_2_reasons_and_nova_1_answers_adaptive_without_thinking(gateway: str, stream: bool) -> None:
    sdk = client(gateway)

    def ask(model: str, thinking: dict[str, Any]) -> Any:
        request: dict[str, Any] = {
            "model": model,
            "max_tokens": 4096,
            "thinking": thinking,
            "output_config": {"effort": "medium"},
            "messages": [{"role": "user", "content": "What is 17 * 23? Think it through."}],
        }
        if stream:
            with sdk.messages.stream(**request) as events:
                return events.get_final_message()
        return sdk.messages.create(**request)

    reasoned = ask(NOVA_2, {"type": "adaptive"})
    assert [block.type for block in reasoned.content] == ["thinking", "text"]
    assert reasoned.content[0].thinking == "[REDACTED]"  # type: ignore[union-attr]  # Nova 2 redacts, bills
    plain = ask(NOVA, {"type": "adaptive"})
    assert [block.type for block in plain.content] == ["text"]
    assert reasoned.usage.output_tokens > plain.usage.output_tokens  # the reasoning is billed as output
    with pytest.raises(anthropic.BadRequestError, match="cannot reason on Bedrock"):
        ask(NOVA, {"type": "enabled", "budget_tokens": 2048})


def test_claude_thinking_over_converse_round_trips_its_signature(emulator: EmulatorHandle) -> None:
    """Claude through Converse (unplaceable model IDs, Converse batch jobs): the translators against boto3's own
    client, so the request shapes are botocore's and the emulator checks the reasoning handed back."""
    bedrock = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=emulator.base_url,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    ask = {"role": "user", "content": "Use the read_file tool to read /tmp/notes.txt"}
    base = {
        "model": CLAUDE,
        "max_tokens": 4096,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "output_config": {"effort": "medium"},
        "tools": [READ_FILE],
    }

    def converse(messages: list[Any]) -> dict[str, Any]:
        plan = plan_converse(parse_message_params({**base, "messages": messages}))
        answer = bedrock.converse(modelId=CLAUDE, **plan.request)
        answer.pop("ResponseMetadata")
        return from_converse_response(answer, model=CLAUDE, shape=plan.answer)

    first = converse([ask])
    assert [block["type"] for block in first["content"]] == ["thinking", "tool_use"]
    assert first["content"][0]["signature"]
    result = {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": first["content"][1]["id"], "content": "token 42"}],
    }
    second = converse([ask, {"role": "assistant", "content": first["content"]}, result])
    assert "token 42" in second["content"][-1]["text"]


# -- prompt caching -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [CLAUDE, NOVA])
@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_a_repeated_cached_prompt_costs_less_in_the_ledger(gateway: str, model: str, stream: bool) -> None:
    """The first call writes the marked prefix, the identical second one reads it: both on the wire (streamed
    and not) and in the ledger, where the second is cheaper. Each call has a key of its own, so the ledger rows
    are exactly one call each."""
    stamp = f"{model} {stream}"
    request: dict[str, Any] = {
        "model": model,
        "max_tokens": 64,
        "system": [{"type": "text", "text": f"{stamp}\n{LONG_SYSTEM}", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "What is 2 + 2?"}],
    }
    usages, costs = [], []
    for call in ("write", "read"):
        key = create_key(gateway, f"cache-{stamp}-{call}")
        sdk = anthropic.Anthropic(
            base_url=f"{gateway}/anthropic", api_key=key["key"], default_headers=BEDROCK, max_retries=0
        )
        if stream:
            with sdk.messages.stream(**request) as events:
                usage = events.get_final_message().usage
        else:
            usage = sdk.messages.create(**request).usage
        usages.append(usage)
        row = wait_for(lambda key_id=key["id"]: (r := key_row(gateway, key_id)) and r["requests"] == 1 and r)
        assert row["input_tokens"] == usage.input_tokens and row["cache_read_tokens"] == usage.cache_read_input_tokens
        assert row["cache_write_tokens"] == usage.cache_creation_input_tokens
        costs.append(row["cost_usd"])
    write, read = usages
    assert write.cache_creation_input_tokens and not write.cache_read_input_tokens
    assert read.cache_read_input_tokens == write.cache_creation_input_tokens and not read.cache_creation_input_tokens
    assert 0 < read.input_tokens < 20  # what follows the cached prefix is billed as input
    assert costs[1] < costs[0], costs


# -- betas, system messages, files ----------------------------------------------------------------------------

CLAUDE_CODE_BETAS = (
    "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,"
    "advanced-tool-use-2025-11-20,thinking-token-count-2026-05-13,thinking-display-updates-2026-08-18,"
    "effort-2025-11-24"
)


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_claude_codes_betas_reach_bedrock_filtered(gateway: str, stream: bool) -> None:
    """The emulator refuses any beta Bedrock does not offer ("invalid beta flag"), as Bedrock does; Claude Code's
    list gets through because the gateway forwards only what Bedrock takes."""
    sdk = client(gateway)
    request: dict[str, Any] = {
        "model": CLAUDE,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "What is 2 + 2?"}],
        "extra_headers": {"anthropic-beta": CLAUDE_CODE_BETAS},
    }
    if stream:
        with sdk.messages.stream(**request) as events:
            message = events.get_final_message()
    else:
        message = sdk.messages.create(**request)
    assert "2 + 2 = 4" in text_of(message)


def test_a_dropped_beta_is_logged_once(
    emulator: EmulatorHandle, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    providers = {
        "bedrock": {
            "region": "us-east-1",
            "base_url": emulator.base_url,
            "access_key_id": KEY_ID,
            "secret_access_key": SECRET,
        }
    }
    with caplog.at_level(logging.INFO, logger="finops.providers"), running_gateway(providers, sqlite_url) as base:
        sdk = anthropic.Anthropic(base_url=f"{base}/anthropic", api_key="k", default_headers=BEDROCK, max_retries=0)
        for _ in range(2):
            sdk.messages.create(
                model=CLAUDE,
                max_tokens=16,
                messages=[{"role": "user", "content": "Hi"}],
                extra_headers={"anthropic-beta": CLAUDE_CODE_BETAS},
            )
    dropped = [
        record.getMessage() for record in caplog.records if "not forwarding anthropic-beta" in record.getMessage()
    ]
    assert dropped == [
        "bedrock: not forwarding anthropic-beta values Bedrock does not offer: thinking-token-count-2026-05-13"
    ]


def test_a_beta_bedrock_lacks_is_refused_when_the_body_needs_it(gateway: str) -> None:
    with pytest.raises(
        anthropic.BadRequestError, match="'fast-mode-2026-02-01' is not available for Claude on Bedrock"
    ):
        client(gateway).messages.create(
            model=CLAUDE,
            max_tokens=64,
            messages=[{"role": "user", "content": "Hi"}],
            extra_body={"speed": "fast"},
            extra_headers={"anthropic-beta": "fast-mode-2026-02-01"},
        )


@pytest.mark.parametrize("model", [CLAUDE, NOVA])
def test_a_system_message_mid_conversation_is_followed(gateway: str, model: str) -> None:
    message = client(gateway).messages.create(
        model=model,
        max_tokens=128,
        messages=[
            {"role": "user", "content": "Hello!"},
            {"role": "assistant", "content": "Hi! How can I help?"},
            {"role": "system", "content": "Answer with the arithmetic only."},
            {"role": "user", "content": "What is 5 + 6?"},
        ],
    )
    assert "5 + 6 = 11" in text_of(message)


def test_files_and_batches_are_refused_each_in_their_own_words(gateway: str, tmp_path: Path) -> None:
    sdk = client(gateway)
    with pytest.raises(anthropic.BadRequestError) as files:
        sdk.beta.files.upload(file=("notes.txt", b"hello", "text/plain"))
    with pytest.raises(anthropic.BadRequestError) as batches:
        sdk.messages.batches.create(
            requests=[
                {
                    "custom_id": "a",
                    "params": {"model": NOVA, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]},
                }
            ]
        )
    files_message, batches_message = files.value.message, batches.value.message
    assert "Files API" in files_message and "S3" in files_message and "batch" not in files_message.lower()
    assert "batch" in batches_message and "S3" in batches_message and "Bedrock SDK" in batches_message


# -- usage on the wire ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [CLAUDE, NOVA])
def test_stream_usage_on_the_wire_is_the_ledgers(gateway: str, model: str) -> None:
    """``message_start`` carries what is known when it is sent (InvokeModel: input and cache counts; Converse
    reports usage only at its end, so zeros), ``message_delta`` all four counts, and the SDK's fold of them is
    what the ledger priced."""
    key = create_key(gateway, f"wire-{model}")
    sdk = anthropic.Anthropic(base_url=f"{gateway}/anthropic", api_key=key["key"], default_headers=BEDROCK)
    with sdk.messages.stream(
        model=model, max_tokens=64, messages=[{"role": "user", "content": "What is 2 + 2?"}]
    ) as events:
        seen = list(events)
        final = events.get_final_message().usage
    start = next(event for event in seen if event.type == "message_start").message.usage
    delta = next(event for event in seen if event.type == "message_delta").usage
    if model == CLAUDE:
        assert start.input_tokens == final.input_tokens > 0
    assert delta.input_tokens == final.input_tokens and delta.output_tokens == final.output_tokens
    assert delta.cache_read_input_tokens == final.cache_read_input_tokens == 0
    row = wait_for(lambda: (r := key_row(gateway, key["id"])) and r["requests"] == 1 and r)
    assert (row["input_tokens"], row["output_tokens"]) == (final.input_tokens, final.output_tokens)
