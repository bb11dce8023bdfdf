"""One error policy and one stream relay, proven through the official ``anthropic`` SDK on all four providers:

- an upstream refusing the gateway's own credentials gives the same answer everywhere, and the SDK does not
  retry it;
- no upstream file ID appears in any error;
- an Anthropic stream that breaks off mid-answer (reset or clean end) reaches the SDK as an error, never as a
  truncated message;
- the usage the SDK reports, streamed or not, is exactly the ledger's row for that request.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from finops.emulators.anthropic.app import create_app as anthropic_app
from finops.emulators.bedrock.app import create_app as bedrock_app
from finops.emulators.gemini.app import create_app as gemini_app
from finops.emulators.openai.app import create_app as openai_app
from tests.support.emulator import EmulatorHandle
from tests.support.gateway import running_gateway
from tests.support.governance import create_key, governance_section, wait_for
from tests.support.servers import serve_in_thread

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK flags the older model names

UPSTREAM_KEYS = {"anthropic": "sk-ant-upstream-relay-0123456789", "openai": "sk-openai-relay-0123456789"}
GEMINI_KEY = "gemini-upstream-relay-key"
AWS_KEY_ID, AWS_SECRET = "AKIAFINOPSEMULATOR", "finops-emulator-secret"
MODELS = {
    "anthropic": "claude-3-sonnet-20240229",
    "openai": "gpt-4o-mini",
    "gemini": "gemini-2.5-flash",
    "bedrock": "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "bedrock-converse": "amazon.nova-lite-v1:0",
}
LONG = "Explain the water cycle step by step with examples from three continents. " * 120  # > 1024 tokens


def providers_section(urls: dict[str, str], **wrong: str) -> dict[str, Any]:
    """The four providers on their emulators; ``wrong`` replaces a provider's credential with a bad one."""
    return {
        "anthropic": {"api_key": wrong.get("anthropic", UPSTREAM_KEYS["anthropic"]), "base_url": urls["anthropic"]},
        "openai": {"api_key": wrong.get("openai", UPSTREAM_KEYS["openai"]), "base_url": f"{urls['openai']}/v1"},
        "gemini": {"api_key": wrong.get("gemini", GEMINI_KEY), "base_url": urls["gemini"]},
        "bedrock": {
            "region": "us-east-1",
            "base_url": urls["bedrock"],
            "access_key_id": AWS_KEY_ID,
            "secret_access_key": wrong.get("bedrock", AWS_SECRET),
        },
    }


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, str]]:
    """The four emulators, each accepting only the gateway's configured credentials."""
    with (
        serve_in_thread(anthropic_app(batch_seconds=1, api_keys={UPSTREAM_KEYS["anthropic"]})) as anthropic_url,
        serve_in_thread(openai_app(batch_seconds=1, api_keys={UPSTREAM_KEYS["openai"]})) as openai_url,
        serve_in_thread(gemini_app(batch_seconds=1, api_keys={GEMINI_KEY})) as gemini_url,
        serve_in_thread(bedrock_app(access_key_id=AWS_KEY_ID, secret_access_key=AWS_SECRET)) as bedrock_url,
    ):
        yield {"anthropic": anthropic_url, "openai": openai_url, "gemini": gemini_url, "bedrock": bedrock_url}


@pytest.fixture(scope="module")
def gateway(upstreams: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A governed gateway over the four emulators; yields its base URL and its SQLite file."""
    database = tmp_path_factory.mktemp("relay") / "finops.db"
    sections = {"governance": governance_section()}
    with running_gateway(providers_section(upstreams), f"sqlite+aiosqlite:///{database}", **sections) as base:
        yield base, database


@pytest.fixture(scope="module")
def caller_key(gateway: tuple[str, Path]) -> str:
    return str(create_key(gateway[0], "relay-tests")["key"])


def sdk(base: str, key: str, provider: str, **options: Any) -> anthropic.Anthropic:
    provider = provider.removesuffix("-converse")
    headers = {"x-model-provider": provider}
    return anthropic.Anthropic(base_url=f"{base}/anthropic", api_key=key, default_headers=headers, **options)


def ask(model: str, text: str = "What is 2+2?", **extra: Any) -> dict[str, Any]:
    return {"model": model, "max_tokens": 200, "messages": [{"role": "user", "content": text}], **extra}


# -- the gateway's own credentials refused --------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["anthropic", "openai", "gemini", "bedrock"])
def test_refused_gateway_credentials_are_one_answer_on_every_provider(
    upstreams: dict[str, str], provider: str, tmp_path: Path
) -> None:
    wrong = "wrong-credential-that-must-not-leak-0123"
    providers = providers_section(upstreams, **{provider: wrong})
    emulator = EmulatorHandle(upstreams[provider])
    with running_gateway(providers, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}") as base:
        client = sdk(base, "caller-key", provider, max_retries=2)  # the SDK retries a 500 unless told not to
        before = emulator.request_count()
        failures: list[anthropic.APIStatusError] = []
        with pytest.raises(anthropic.InternalServerError) as raised:
            client.messages.create(**ask(MODELS[provider]))
        failures.append(raised.value)
        with pytest.raises(anthropic.InternalServerError) as raised, client.messages.stream(**ask(MODELS[provider])):
            pass
        failures.append(raised.value)
        assert emulator.request_count() - before == 2  # x-should-retry: false kept the SDK from retrying
    for failure in failures:
        assert failure.status_code == 500
        assert failure.body["error"] == {
            "type": "api_error",
            "message": f"the gateway's {provider} credentials were rejected by the upstream; the gateway's "
            "configuration needs fixing (the caller's API key is not at fault)",
        }
        assert failure.response.headers["x-should-retry"] == "false"
        assert wrong not in failure.response.text


# -- no upstream ID in an error ------------------------------------------------------------------------------


def upstream_id_of(database: Path, file_id: str) -> str:
    with sqlite3.connect(database) as connection:
        (upstream_id,) = connection.execute("SELECT upstream_id FROM files WHERE id = ?", (file_id,)).fetchone()
    return str(upstream_id)


def delete_upstream(provider: str, url: str, upstream_id: str) -> None:
    """Delete a file behind the gateway's back, as expiry or another tool would."""
    if provider == "anthropic":
        headers = {"x-api-key": UPSTREAM_KEYS["anthropic"], "anthropic-version": "2023-06-01"}
        response = httpx.delete(f"{url}/v1/files/{upstream_id}", headers=headers)
    elif provider == "openai":
        response = httpx.delete(
            f"{url}/v1/files/{upstream_id}", headers={"authorization": f"Bearer {UPSTREAM_KEYS['openai']}"}
        )
    else:
        response = httpx.delete(f"{url}/v1beta/{upstream_id}", headers={"x-goog-api-key": GEMINI_KEY})
    response.raise_for_status()


@pytest.mark.parametrize("provider", ["anthropic", "openai", "gemini"])
def test_no_upstream_file_id_in_any_error(
    gateway: tuple[str, Path], upstreams: dict[str, str], caller_key: str, provider: str
) -> None:
    base, database = gateway
    client = sdk(base, caller_key, provider, max_retries=0)
    uploaded = client.beta.files.upload(file=("notes.txt", b"hello from the relay tests", "text/plain"))
    upstream_id = upstream_id_of(database, uploaded.id)
    bare_name = upstream_id.removeprefix("files/")  # Gemini's messages name files without the prefix
    errors: list[anthropic.APIStatusError] = []
    with pytest.raises(anthropic.BadRequestError) as refused:  # no provider serves an uploaded file's bytes
        client.beta.files.download(uploaded.id)
    errors.append(refused.value)
    delete_upstream(provider, upstreams[provider], upstream_id)
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.beta.files.download(uploaded.id)
    errors.append(missing.value)
    for error in errors:
        assert upstream_id not in error.response.text and bare_name not in error.response.text
        assert error.body["type"] == "error" and error.body["error"]["message"]


# -- the Anthropic passthrough breaking off -----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["reset", "end"])
def test_a_passthrough_stream_cut_mid_answer_is_an_error_for_the_sdk(
    gateway: tuple[str, Path], upstreams: dict[str, str], caller_key: str, mode: str
) -> None:
    base, database = gateway
    EmulatorHandle(upstreams["anthropic"]).cut_next(900, mode=mode, path_prefix="/v1/messages")
    client = sdk(base, caller_key, "anthropic", max_retries=0)
    texts: list[str] = []
    params = ask(MODELS["anthropic"], "Tell me a long story about the sea")
    with pytest.raises(anthropic.APIStatusError) as raised, client.messages.stream(**params) as stream:
        texts.extend(stream.text_stream)  # raises instead of ending with a message whose stop_reason is None
    assert raised.value.body["error"]["type"] == "api_error"
    assert texts  # the answer had begun: this is the after-the-first-frame path
    request_id = stream.response.headers["request-id"]
    row = wait_for(lambda: ledger_row(database, request_id))
    assert row["input_tokens"] > 0  # what the upstream did bill is still priced


# -- usage on the wire = usage priced -------------------------------------------------------------------------


def ledger_row(database: Path, request_id: str) -> dict[str, int] | None:
    with sqlite3.connect(database) as connection:
        row = connection.execute(
            "SELECT input_tokens, output_tokens, cache_read_tokens, cache_write_tokens FROM usage_records "
            "WHERE request_id = ?",
            (request_id,),
        ).fetchone()
    if row is None:
        return None
    return dict(zip(("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"), row, strict=True))


def as_ledger(usage: anthropic.types.Usage | anthropic.types.MessageDeltaUsage) -> dict[str, int]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_input_tokens or 0,
        "cache_write_tokens": usage.cache_creation_input_tokens or 0,
    }


@pytest.mark.parametrize("provider", list(MODELS))
def test_the_usage_the_sdk_reports_is_the_ledger_row(gateway: tuple[str, Path], caller_key: str, provider: str) -> None:
    base, database = gateway
    client = sdk(base, caller_key, provider, max_retries=0)
    cached = provider in ("anthropic", "bedrock")  # Claude caches a marked prefix; Gemini and Nova a long one
    system = [{"type": "text", "text": LONG, **({"cache_control": {"type": "ephemeral"}} if cached else {})}]
    params = ask(MODELS[provider], "Summarise that in two sentences.", system=system)
    seen: list[tuple[str, dict[str, int]]] = []
    for _ in range(2):  # the second time, whatever the provider caches is read from its cache
        raw = client.messages.with_raw_response.create(**params)
        seen.append((raw.headers["request-id"], as_ledger(raw.parse().usage)))
        with client.messages.stream(**params) as stream:
            events = list(stream)
            usage = stream.get_final_message().usage
        seen.append((stream.response.headers["request-id"], as_ledger(usage)))
        # On the wire too: a client that reads only the final message_delta (Claude Code, langchain) sees the
        # same four counts, and message_start already carries every count it can know.
        delta = [event for event in events if event.type == "message_delta"][-1]
        assert as_ledger(delta.usage) == as_ledger(usage)
        start = next(event for event in events if event.type == "message_start").message.usage
        assert None not in (start.cache_read_input_tokens, start.cache_creation_input_tokens)
    for request_id, reported in seen:
        assert reported["input_tokens"] > 0 and reported["output_tokens"] > 0
        assert wait_for(lambda request_id=request_id: ledger_row(database, request_id)) == reported
