"""The four emulators in threads, each accepting only the gateway's credentials, and the gateway's provider section
for them (for tests that run one gateway over every provider)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from finops.emulators.anthropic.app import create_app as anthropic_app
from finops.emulators.bedrock.app import create_app as bedrock_app
from finops.emulators.gemini.app import create_app as gemini_app
from finops.emulators.openai.app import create_app as openai_app

from .servers import serve_in_thread

UPSTREAM_KEYS = {"anthropic": "sk-ant-upstream-four-0123456789", "openai": "sk-openai-four-0123456789"}
GEMINI_KEY = "gemini-upstream-four-key"
AWS_KEY_ID, AWS_SECRET = "AKIAFINOPSEMULATOR", "finops-emulator-secret"


@contextmanager
def four_emulators(batch_seconds: float = 1.0) -> Iterator[dict[str, str]]:
    """Yields each provider's emulator URL."""
    with (
        serve_in_thread(anthropic_app(batch_seconds=batch_seconds, api_keys={UPSTREAM_KEYS["anthropic"]})) as a,
        serve_in_thread(openai_app(batch_seconds=batch_seconds, api_keys={UPSTREAM_KEYS["openai"]})) as o,
        serve_in_thread(gemini_app(batch_seconds=batch_seconds, api_keys={GEMINI_KEY})) as g,
        serve_in_thread(bedrock_app(access_key_id=AWS_KEY_ID, secret_access_key=AWS_SECRET)) as b,
    ):
        yield {"anthropic": a, "openai": o, "gemini": g, "bedrock": b}


def providers_section(urls: dict[str, str]) -> dict[str, Any]:
    return {
        "anthropic": {"api_key": UPSTREAM_KEYS["anthropic"], "base_url": urls["anthropic"]},
        "openai": {"api_key": UPSTREAM_KEYS["openai"], "base_url": f"{urls['openai']}/v1"},
        "gemini": {"api_key": GEMINI_KEY, "base_url": urls["gemini"]},
        "bedrock": {
            "region": "us-east-1",
            "base_url": urls["bedrock"],
            "access_key_id": AWS_KEY_ID,
            "secret_access_key": AWS_SECRET,
        },
    }
