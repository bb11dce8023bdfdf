"""``provider/model`` names choose the provider for batches and models exactly as for messages, through the
official ``anthropic`` SDK with no ``x-model-provider`` header; ``/v1/models`` pages as Anthropic's lists do.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from tests.support.emulator import EmulatorHandle
from tests.support.four_providers import four_emulators, providers_section
from tests.support.gateway import running_gateway

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK flags the older model names

MODELS = {"openai": "gpt-4o-mini", "gemini": "gemini-2.5-flash"}


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, str]]:
    with four_emulators(batch_seconds=0.5) as urls:
        yield urls


@pytest.fixture(scope="module")
def gateway(upstreams: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = tmp_path_factory.mktemp("prefix") / "finops.db"
    with running_gateway(providers_section(upstreams), f"sqlite+aiosqlite:///{database}") as base:
        yield base


def sdk(base: str, provider: str | None = None) -> anthropic.Anthropic:
    headers = {"x-model-provider": provider} if provider else {}
    return anthropic.Anthropic(base_url=f"{base}/anthropic", api_key="caller", default_headers=headers, max_retries=0)


def request(custom_id: str, model: str) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "params": {"model": model, "max_tokens": 32, "messages": [{"role": "user", "content": "What is 2+2?"}]},
    }


# -- batches ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", list(MODELS))
def test_a_batch_goes_where_its_model_prefix_says(gateway: str, upstreams: dict[str, str], provider: str) -> None:
    client = sdk(gateway)  # no header: anthropic by default
    model = f"{provider}/{MODELS[provider]}"
    anthropic_calls = EmulatorHandle(upstreams["anthropic"]).request_count()
    batch = client.messages.batches.create(requests=[request("one", model), request("two", model)])
    assert batch.processing_status == "in_progress" and batch.request_counts.processing == 2
    assert EmulatorHandle(upstreams["anthropic"]).request_count() == anthropic_calls  # nothing went to anthropic

    # Calls on the ID use the stored provider; lists are per provider, as for every batch.
    assert client.messages.batches.retrieve(batch.id).id == batch.id
    assert batch.id in [listed.id for listed in sdk(gateway, provider).messages.batches.list(limit=100)]
    assert batch.id not in [listed.id for listed in client.messages.batches.list(limit=100)]
    deadline = time.monotonic() + 30
    while client.messages.batches.retrieve(batch.id).processing_status != "ended":
        assert time.monotonic() < deadline, "the batch never ended"
        time.sleep(0.2)
    results = {result.custom_id: result.result for result in client.messages.batches.results(batch.id)}
    assert sorted(results) == ["one", "two"]
    for result in results.values():
        assert result.type == "succeeded" and "4" in result.message.content[0].text  # type: ignore[union-attr]


def test_a_prefix_beats_the_header_as_for_messages(gateway: str, upstreams: dict[str, str]) -> None:
    openai_calls = EmulatorHandle(upstreams["openai"]).request_count()
    batch = sdk(gateway, "gemini").messages.batches.create(requests=[request("one", "openai/gpt-4o-mini")])
    assert EmulatorHandle(upstreams["openai"]).request_count() > openai_calls
    sdk(gateway).messages.batches.cancel(batch.id)


@pytest.mark.parametrize(
    ("header", "models", "wrong"),
    [
        (None, ["openai/gpt-4o-mini", "gemini/gemini-2.5-flash"], "requests.1.params.model: 'gemini/gemini-2.5-flash'"),
        (None, ["openai/gpt-4o-mini", "claude-3-5-haiku-20241022"], "requests.1.params.model"),
        ("openai", ["gpt-4o-mini", "anthropic/claude-3-5-haiku-20241022"], "requests.1.params.model"),
    ],
    ids=["two prefixes", "a prefix and the default", "the header and a prefix"],
)
def test_a_batch_that_mixes_providers_is_a_400_before_any_upstream(
    gateway: str, upstreams: dict[str, str], header: str | None, models: list[str], wrong: str
) -> None:
    before = {name: EmulatorHandle(url).request_count() for name, url in upstreams.items()}
    with pytest.raises(anthropic.BadRequestError) as refused:
        sdk(gateway, header).messages.batches.create(
            requests=[request(f"r{index}", model) for index, model in enumerate(models)]
        )
    message = refused.value.body["error"]["message"]
    assert message.startswith(wrong) and "a batch goes to one provider" in message
    assert {name: EmulatorHandle(url).request_count() for name, url in upstreams.items()} == before


def test_a_bedrock_prefix_gets_bedrocks_refusal(gateway: str) -> None:
    with pytest.raises(anthropic.BadRequestError) as refused:
        sdk(gateway).messages.batches.create(requests=[request("one", "bedrock/amazon.nova-lite-v1:0")])
    assert "Bedrock" in refused.value.body["error"]["message"]


# -- models -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["anthropic", "openai", "gemini", "bedrock"])
def test_models_page_as_anthropics_lists_do(gateway: str, provider: str) -> None:
    client = sdk(gateway, provider)
    everything = client.models.list(limit=1000)
    all_ids = [model.id for model in everything.data]
    assert len(all_ids) > 3 and everything.has_more is False
    assert not any(model_id.startswith(f"{provider}/") for model_id in all_ids)  # listed as the provider names them
    first = client.models.list(limit=2)
    assert [model.id for model in first.data] == all_ids[:2] and first.has_more is True
    assert (first.first_id, first.last_id) == (all_ids[0], all_ids[1])
    assert [model.id for model in client.models.list(limit=2)] == all_ids  # the SDK follows after_id to the end
    later = client.models.list(limit=2, after_id=all_ids[1])
    assert [model.id for model in later.data] == all_ids[2:4]
    earlier = client.models.list(limit=1, before_id=all_ids[2])
    assert [model.id for model in earlier.data] == [all_ids[1]] and earlier.has_more is True
    assert client.models.retrieve(all_ids[0]).id == all_ids[0]


@pytest.mark.parametrize("provider", ["openai", "gemini", "bedrock"])
def test_a_model_is_retrieved_by_its_provider_prefix(gateway: str, provider: str) -> None:
    listed = sdk(gateway, provider).models.list(limit=1).data[0]
    retrieved = sdk(gateway).models.retrieve(f"{provider}/{listed.id}")  # no header
    assert retrieved.id == f"{provider}/{listed.id}" and retrieved.display_name == listed.display_name
    with pytest.raises(anthropic.NotFoundError):
        sdk(gateway).models.retrieve(f"{provider}/no-such-model")


def test_claude_codes_model_picker_call(gateway: str) -> None:
    """Claude Code asks for ``GET /v1/models?limit=1000`` with its custom provider header."""
    listed = sdk(gateway, "openai").models.list(limit=1000)
    assert "gpt-4o-mini" in [model.id for model in listed.data]
