"""Who shares cached answers: never two owners (virtual keys, dummy keys) unless the operator put both keys in
``cache.shared_namespace``, on either layer; and every gateway process on one store (two ``finops serve``
processes on PostgreSQL) or one Redis (the exact layer's shared copy)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import POSTGRES_URL, REDIS_URL
from tests.support.cache import (
    ask,
    cache_section,
    chat_calls,
    client,
    content,
    create,
    provider_settings,
    running_emulators,
    wait_stored,
)
from tests.support.demo import finops_process
from tests.support.emulator import EmulatorHandle
from tests.support.gateway import running_gateway
from tests.support.governance import create_key, governance_section

LAYERS = {
    "exact": lambda question: question,
    "semantic": lambda question: question.lower().rstrip("?."),  # a paraphrase of it
}


@pytest.fixture(scope="module")
def emulators() -> Iterator[dict[str, EmulatorHandle]]:
    with running_emulators() as handles:
        yield handles


@pytest.fixture
def shared_gateway(emulators: dict[str, EmulatorHandle], sqlite_url: str) -> Iterator[str]:
    sections = {
        "governance": governance_section(),
        "cache": cache_section(shared_namespace=["team-a", "team-b"]),
    }
    with running_gateway(provider_settings(emulators), sqlite_url, **sections) as base:
        yield base


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_namespace_isolation_matrix(layer: str, shared_gateway: str) -> None:
    """Each owner stores an answer; every other owner asks the same (or a paraphrased) question."""
    owners = {
        "key-1": create_key(shared_gateway, f"solo-1-{layer}")["key"],
        "key-2": create_key(shared_gateway, f"solo-2-{layer}")["key"],
        "team-a": create_key(shared_gateway, "team-a")["key"],
        "team-b": create_key(shared_gateway, "team-b")["key"],
        "dummy-1": f"dummy-key-one-{layer}",
        "dummy-2": f"dummy-key-two-{layer}",
    }
    shared = {"team-a", "team-b"}
    for writer, writer_key in owners.items():
        question = f"What is the boiling point of water? Asked by {writer}."
        paraphrase = LAYERS[layer](question)
        sdk = client(shared_gateway, "openai", writer_key, **{"x-finops-cache": layer})
        assert create(sdk, ask(question, "openai"))[1]["x-finops-cache"] == "miss"
        assert create(sdk, ask(paraphrase, "openai"))[1]["x-finops-cache"] == "hit"  # the writer itself hits
        for reader, reader_key in owners.items():
            if reader == writer:
                continue
            headers = {"x-finops-cache": layer, "x-finops-cache-no-store": "true"}
            reader_sdk = client(shared_gateway, "openai", reader_key, **headers)
            result = create(reader_sdk, ask(paraphrase, "openai"))[1]["x-finops-cache"]
            expected = "hit" if {reader, writer} <= shared else "miss"
            assert result == expected, f"{layer}: {reader} reading {writer}'s answer"


def test_two_processes_on_postgresql_share_one_cache(
    emulators: dict[str, EmulatorHandle], postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if not POSTGRES_URL:
        pytest.skip("FINOPS_TEST_DATABASE_URL is not set: no PostgreSQL to share")
    settings = {
        "database": {"url": postgres_url},
        "providers": provider_settings(emulators),
        "cache": cache_section(sync_seconds=30),  # the semantic hit below must come from the on-miss catch-up
    }
    with ExitStack() as stack:
        bases = []
        for name in ("first", "second"):
            workdir = tmp_path_factory.mktemp(name)
            (workdir / "finops.yaml").write_text(yaml.safe_dump(settings))
            bases.append(stack.enter_context(finops_process(["--config", str(workdir / "finops.yaml")], workdir)))
        first, second = (client(base, "gemini", "one-dummy-key") for base in bases)
        upstream = emulators["gemini"]

        stored, headers = create(first, ask("Which planet is the largest?", "gemini"))
        assert headers["x-finops-cache"] == "miss"
        wait_stored(second, ask("Which planet is the largest?", "gemini"))  # its misses, if any, go upstream
        calls = chat_calls(upstream)
        served, headers = create(second, ask("Which planet is the largest?", "gemini"))
        assert headers["x-finops-cache"] == "hit" and content(served) == content(stored)

        paraphrase, headers = create(second, ask("which planets is the largest", "gemini"))
        assert headers["x-finops-cache"] == "hit" and content(paraphrase) == content(stored)
        assert chat_calls(upstream) == calls

        # And the other way round, for a streamed answer.
        with second.messages.stream(**ask("Which ocean is the deepest?", "gemini")) as events:
            streamed = events.get_final_message()
            assert events.response.headers["x-finops-cache"] == "miss"
        wait_stored(first, ask("Which ocean is the deepest?", "gemini"))
        served, headers = create(first, ask("Which ocean is the deepest?", "gemini"))
        assert headers["x-finops-cache"] == "hit" and content(served) == content(streamed)


@pytest.mark.redis
def test_redis_shares_the_exact_layer(emulators: dict[str, EmulatorHandle], tmp_path: Path) -> None:
    """Two gateways with separate SQLite stores share exact answers through Redis alone."""
    if not REDIS_URL:
        pytest.skip("FINOPS_TEST_REDIS_URL is not set: no Redis to share")
    sections: dict[str, Any] = {"redis": {"url": REDIS_URL}, "cache": cache_section(mode="exact")}
    providers = provider_settings(emulators)
    with (
        running_gateway(providers, f"sqlite+aiosqlite:///{tmp_path / 'one.db'}", **sections) as one,
        running_gateway(providers, f"sqlite+aiosqlite:///{tmp_path / 'two.db'}", **sections) as two,
    ):
        question = ask(f"Which metal conducts best? ({uuid.uuid4().hex})", "bedrock")  # Redis outlives the test
        stored, headers = create(client(one, "bedrock"), question)
        assert headers["x-finops-cache"] == "miss"
        wait_stored(client(two, "bedrock"), question)
        served, headers = create(client(two, "bedrock"), question)
        assert headers["x-finops-cache"] == "hit" and content(served) == content(stored)
