"""The official TypeScript SDK (``@anthropic-ai/sdk``, pinned in ``tests/clients``) against ``finops serve --demo``.

``tests/clients/sdk_checks.mjs`` runs every check once per target and reports one JSON line per check; each check is
a test of its own here, so a failure names the provider and the feature. A failing check shows the requests it sent
(they carry ``x-finops-check``) and the gateway's answers, as recorded by the proxy in front of the gateway.
Set ``FINOPS_CLIENT_CAPTURE_DIR`` to keep every request and answer of each target's run as JSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from tests.support.client_demo import ClientDemo, VirtualKey, client_demo, count_route
from tests.support.recording_proxy import Exchange, dump_exchanges
from tests.support.typescript_sdk import CHECKS, SdkRun, run_sdk_checks

# Bedrock files and batches run on S3 and batch inference (issue 16) when ``providers.bedrock.batch`` is set, as the
# demo sets it; without it each of those calls is the seed's clear 400 (tests/integration/test_bedrock_gateway.py).
BEDROCK_FILES_AND_BATCHES: Literal["supported", "refused"] = "supported"


@dataclass(frozen=True)
class Target:
    provider: str
    model: str
    thinking_model: str
    """A model that reasons (used with ``thinking: enabled``)."""
    adaptive_model: str
    """A model that accepts ``thinking: adaptive``."""
    thinking_blocks: bool
    """The provider returns its reasoning, so thinking blocks must come back."""
    thinking_tokens: bool = False
    """Reasoning must show in ``usage.output_tokens_details.thinking_tokens`` (where no text of it comes back, this
    is the only sign a client gets that the model reasoned, and reasoning tokens are billed)."""
    cache_writes: bool = False
    """The provider bills cache writes, so a first ``cache_control`` prefix reports ``cache_creation_input_tokens``
    (OpenAI and Gemini cache on their own and report only reads)."""
    files_and_batches: Literal["supported", "refused"] = "supported"
    downloadable_jsonl: bool = False


TARGETS = {
    "anthropic": Target(
        "anthropic",
        "claude-sonnet-4-5-20250929",
        thinking_model="claude-sonnet-4-5-20250929",
        adaptive_model="claude-opus-5-5",  # adaptive thinking is for the newest models (Claude Code's default)
        thinking_blocks=True,
        cache_writes=True,
    ),
    # Chat Completions never returns OpenAI's reasoning text (only its token count), so no thinking blocks there.
    "openai": Target(
        "openai",
        "gpt-4o-mini",
        thinking_model="o4-mini",
        adaptive_model="o4-mini",
        thinking_blocks=False,
        thinking_tokens=True,
        downloadable_jsonl=True,
    ),
    "gemini": Target("gemini", "gemini-2.5-flash", "gemini-2.5-flash", "gemini-2.5-flash", thinking_blocks=True),
    "bedrock-claude": Target(
        "bedrock",
        "us.anthropic.claude-sonnet-4-20250514-v1:0",
        thinking_model="us.anthropic.claude-sonnet-4-20250514-v1:0",
        adaptive_model="us.anthropic.claude-opus-4-6-v1",
        thinking_blocks=True,
        cache_writes=True,
        files_and_batches=BEDROCK_FILES_AND_BATCHES,
    ),
    # Nova Lite (v1) does not reason; Nova 2 Lite does (Converse reasoningContent).
    "bedrock-nova": Target(
        "bedrock",
        "amazon.nova-lite-v1:0",
        thinking_model="amazon.nova-2-lite-v1:0",
        adaptive_model="amazon.nova-2-lite-v1:0",
        thinking_blocks=True,
        files_and_batches=BEDROCK_FILES_AND_BATCHES,
    ),
}


@dataclass
class TargetRun:
    run: SdkRun
    key: VirtualKey
    exchanges: list[Exchange]
    """Every request of this run and the gateway's answer (each carries ``x-finops-check``)."""


class SdkRuns:
    """Runs the script once per target, on first use (the tests of one target share that run)."""

    def __init__(self, demo: ClientDemo) -> None:
        self.demo = demo
        self._runs: dict[str, TargetRun] = {}

    def of(self, name: str) -> TargetRun:
        if name not in self._runs:
            target = TARGETS[name]
            key = self.demo.new_key(f"typescript-sdk-{name}")
            batch_key = self.demo.new_key(f"typescript-sdk-{name}-batches")
            config = {
                "baseURL": self.demo.anthropic_base_url,
                "apiKey": key.secret,
                "batchApiKey": batch_key.secret,
                "provider": target.provider,
                "model": target.model,
                "thinkingModel": target.thinking_model,
                "adaptiveModel": target.adaptive_model,
                "thinkingBlocks": target.thinking_blocks,
                "thinkingTokens": target.thinking_tokens,
                "cacheWrites": target.cache_writes,
                "filesAndBatches": target.files_and_batches,
                "downloadableJsonl": target.downloadable_jsonl,
            }
            self.demo.proxy.clear()
            run = run_sdk_checks(config)
            exchanges = self.demo.proxy.exchanges()
            capture = os.environ.get("FINOPS_CLIENT_CAPTURE_DIR")
            if capture:
                Path(capture).mkdir(parents=True, exist_ok=True)
                dump_exchanges(exchanges, Path(capture) / f"typescript-sdk-{name}.json")
            self._runs[name] = TargetRun(run, key, exchanges)
        return self._runs[name]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientDemo]:
    with client_demo(tmp_path_factory.mktemp("typescript-sdk")) as running:
        yield running


@pytest.fixture(scope="module")
def sdk_runs(demo: ClientDemo) -> SdkRuns:
    return SdkRuns(demo)


def _shown(body: Any, limit: int) -> str:
    text = body if isinstance(body, str) else json.dumps(body)
    return text if len(text) <= limit else f"{text[:limit]}…"


def _exchanges_of(exchanges: list[Exchange], check: str) -> str:
    lines = []
    for exchange in exchanges:
        if exchange.request_headers.get("x-finops-check") != check:
            continue
        body = exchange.request_json()
        lines.append(f"  {exchange.method} {exchange.path}  {_shown(body, 1200) if body is not None else ''}")
        lines.append(f"    -> {exchange.status} {_shown(exchange.response_text(), 1200)}")
    return "\n".join(lines) or "  (no request reached the gateway)"


@pytest.mark.parametrize(("target", "check"), [(target, check) for target in TARGETS for check in CHECKS])
def test_typescript_sdk(target: str, check: str, sdk_runs: SdkRuns) -> None:
    outcome = sdk_runs.of(target)
    report = outcome.run.results.get(check)
    assert report is not None, f"the script did not report {check!r}:\n{outcome.run.describe()}"
    if not report["ok"]:
        sent = _exchanges_of(outcome.exchanges, check)
        pytest.fail(f"{check} on {target}: {report['error']}\nrequests and answers:\n{sent}", pytrace=False)


@pytest.mark.parametrize("target", list(TARGETS))
def test_typescript_sdk_usage_matches_the_ledger(target: str, sdk_runs: SdkRuns, demo: ClientDemo) -> None:
    """What the SDK reported in ``usage``, summed over every answer, is what the ledger prices for that key."""
    outcome = sdk_runs.of(target)
    seen = outcome.run.usage_seen
    assert seen is not None, outcome.run.describe()
    # The batch checks use a key of their own, so this key's rows are exactly its answered model calls.
    answered = count_route(outcome.exchanges, "POST", "/anthropic/v1/messages", status=200)
    ledger = demo.ledger_usage(outcome.key, rows=answered)
    assert ledger["requests"] == answered, f"{answered} answered model calls, {ledger['requests']} ledger rows"
    assert seen["input_tokens"] > 0, seen
    assert {
        "input_tokens": ledger["input_tokens"],
        "output_tokens": ledger["output_tokens"],
        "cache_creation_input_tokens": ledger["cache_write_tokens"],
        "cache_read_input_tokens": ledger["cache_read_tokens"],
    } == seen


def test_every_check_is_reported_and_the_script_exits_cleanly(sdk_runs: SdkRuns) -> None:
    for name in TARGETS:
        run = sdk_runs.of(name).run
        assert run.returncode == 0, run.describe()
        assert set(run.results) == {*CHECKS, "usage_seen"}, run.describe()
