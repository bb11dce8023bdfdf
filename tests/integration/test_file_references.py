"""Messages may reference files uploaded through the gateway by the gateway's ID; the upstream gets its own ID."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import anthropic
import httpx
import pytest

from finops.emulators.gemini.app import create_app as gemini_app
from finops.emulators.openai.app import create_app as openai_app
from tests.conftest import UPSTREAM_KEY
from tests.support.emulator import EmulatorHandle
from tests.support.gateway import running_gateway
from tests.support.servers import serve_in_thread

PDF = base64.b64decode(
    b"JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCnRyYWlsZXIKPDw+PgolJUVPRgo="
)
MODELS = {"anthropic": "claude-3-sonnet-20240229", "openai": "gpt-4o-mini", "gemini": "gemini-1.5-flash"}


@pytest.fixture(scope="module")
def gateway(anthropic_emulator: EmulatorHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('refs') / 'g.db'}"
    with (
        serve_in_thread(openai_app(batch_seconds=1)) as openai_url,
        serve_in_thread(gemini_app(batch_seconds=1)) as gemini_url,
    ):
        providers = {
            "anthropic": {"api_key": UPSTREAM_KEY, "base_url": anthropic_emulator.base_url},
            "openai": {"api_key": UPSTREAM_KEY, "base_url": f"{openai_url}/v1"},
            "gemini": {"api_key": UPSTREAM_KEY, "base_url": gemini_url},
        }
        with running_gateway(providers, database) as base:
            yield f"{base}/anthropic"


def client(gateway: str, provider: str, key: str = "owner-a") -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=gateway, api_key=key, max_retries=0, default_headers={"x-model-provider": provider}
    )


def ask_about(file_id: str, provider: str) -> dict:
    return {
        "model": MODELS[provider],
        "max_tokens": 50,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "document", "source": {"type": "file", "file_id": file_id}},
                    {"type": "text", "text": "Summarise this document."},
                ],
            }
        ],
    }


@pytest.mark.parametrize("provider", ["anthropic", "openai", "gemini"])
def test_gateway_file_ids_work_in_messages(gateway: str, provider: str) -> None:
    sdk = client(gateway, provider)
    uploaded = sdk.beta.files.upload(file=("report.pdf", PDF, "application/pdf"))
    assert uploaded.id.startswith("file_")
    message = sdk.beta.messages.create(**ask_about(uploaded.id, provider))
    assert message.content[0].type == "text" and message.usage.input_tokens > 0
    with sdk.beta.messages.stream(**ask_about(uploaded.id, provider)) as stream:
        assert stream.get_final_message().content[0].text


def test_unknown_foreign_and_cross_provider_file_ids_are_refused(gateway: str) -> None:
    mine = client(gateway, "anthropic").beta.files.upload(file=("mine.pdf", PDF, "application/pdf"))
    with pytest.raises(anthropic.NotFoundError, match="File not found"):
        client(gateway, "anthropic", key="owner-b").messages.create(**ask_about(mine.id, "anthropic"))
    with pytest.raises(anthropic.NotFoundError, match="File not found"):
        client(gateway, "anthropic").messages.create(**ask_about("file_doesnotexist", "anthropic"))
    with pytest.raises(anthropic.BadRequestError, match="uploaded to anthropic"):
        client(gateway, "openai").messages.create(**ask_about(mine.id, "openai"))


def test_upstream_ids_are_not_accepted_in_messages(gateway: str, anthropic_emulator: EmulatorHandle) -> None:
    """Only the gateway's own IDs are honoured; the upstream's real ID is just an unknown ID to the caller."""
    sdk = client(gateway, "anthropic")
    sdk.beta.files.upload(file=("upstream-id.pdf", PDF, "application/pdf"))
    listed = httpx.get(
        f"{anthropic_emulator.base_url}/v1/files",
        headers={"x-api-key": UPSTREAM_KEY, "anthropic-version": "2023-06-01"},
    ).json()["data"]
    upstream_id = next(item["id"] for item in listed if item["filename"] == "upstream-id.pdf")
    with pytest.raises(anthropic.NotFoundError, match="File not found"):
        sdk.messages.create(**ask_about(upstream_id, "anthropic"))
