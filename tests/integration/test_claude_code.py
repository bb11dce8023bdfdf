"""Claude Code (npm ``@anthropic-ai/claude-code``, pinned in ``tests/clients``) in print mode against
``finops serve --demo``, on every provider, as a new user would run it.

Each run asks Claude Code to read a file holding a random token with its Read tool and to answer with the token.
It runs once per case (a throwaway HOME and project directory, a virtual key of its own, the telemetry and update
switches off); the tests then look at it from four sides: the answer, the gateway's error answers, the number of
model calls, and the usage Claude Code reports against what the ledger priced. A run that sends
``MAX_MESSAGE_CALLS`` model calls is stopped there: an agent that never finishes is a failure, not a long test.

Set ``FINOPS_CLIENT_CAPTURE_DIR`` to keep every request and answer of each run as JSON (see
``docs/compatibility.md``, "Real clients").
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.claude_code import ClaudeRun, run_claude
from tests.support.client_demo import ClientDemo, VirtualKey, client_demo, count_route, error_answers
from tests.support.recording_proxy import Exchange, dump_exchanges

MAX_MESSAGE_CALLS = 20
RUN_TIMEOUT_SECONDS = 120
MESSAGES_PATH = "/anthropic/v1/messages"


@dataclass(frozen=True)
class Case:
    provider: str
    model: str | None
    """``None``: Claude Code's own default model."""


CASES = {
    "anthropic-default-model": Case("anthropic", None),
    "anthropic-sonnet-4-5": Case("anthropic", "claude-sonnet-4-5-20250929"),
    "openai-gpt-4o-mini": Case("openai", "gpt-4o-mini"),
    "gemini-2.5-flash": Case("gemini", "gemini-2.5-flash"),
    "bedrock-claude-sonnet-4": Case("bedrock", "us.anthropic.claude-sonnet-4-20250514-v1:0"),
    "bedrock-nova-lite": Case("bedrock", "amazon.nova-lite-v1:0"),
}


@dataclass
class CaseRun:
    run: ClaudeRun
    token: str
    key: VirtualKey
    exchanges: list[Exchange]
    gateway_errors: int
    """4xx and 5xx answers the gateway counted in ``/metrics`` during the run."""

    def message_calls(self) -> int:
        return count_route(self.exchanges, "POST", MESSAGES_PATH)


def _errors(counts: dict[str, int]) -> int:
    return counts.get("4xx", 0) + counts.get("5xx", 0)


class ClaudeCodeRuns:
    """Runs Claude Code once per case, on first use, one case at a time (they share the demo and its proxy)."""

    def __init__(self, demo: ClientDemo, workdir: Path) -> None:
        self.demo = demo
        self.workdir = workdir
        self._runs: dict[str, CaseRun] = {}

    def of(self, name: str) -> CaseRun:
        if name not in self._runs:
            self._runs[name] = self._run(name, CASES[name])
        return self._runs[name]

    def _too_many_calls(self) -> str | None:
        calls = count_route(self.demo.proxy.exchanges(), "POST", MESSAGES_PATH)
        return f"it sent {calls} requests to {MESSAGES_PATH}" if calls >= MAX_MESSAGE_CALLS else None

    def _run(self, name: str, case: Case) -> CaseRun:
        project = self.workdir / f"project-{name}"
        project.mkdir()
        token = secrets.token_hex(8)
        notes = project / "notes.txt"
        notes.write_text(f"The secret token is {token}.\n")
        key = self.demo.new_key(f"claude-code-{name}")
        headers = {} if case.provider == "anthropic" else {"x-model-provider": case.provider}
        self.demo.proxy.clear()
        errors_before = _errors(self.demo.http_responses_by_class())
        run = run_claude(
            f"Use the Read tool to read the file {notes}, then reply with the secret token written in it.",
            cwd=project,
            home=self.workdir / f"home-{name}",
            base_url=self.demo.anthropic_base_url,
            api_key=key.secret,
            headers=headers,
            model=case.model,
            timeout=RUN_TIMEOUT_SECONDS,
            stop_when=self._too_many_calls,
        )
        exchanges = self.demo.proxy.exchanges()
        errors = _errors(self.demo.http_responses_by_class()) - errors_before
        capture = os.environ.get("FINOPS_CLIENT_CAPTURE_DIR")
        if capture:
            Path(capture).mkdir(parents=True, exist_ok=True)
            dump_exchanges(exchanges, Path(capture) / f"claude-code-{name}.json")
        return CaseRun(run, token, key, exchanges, errors)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientDemo]:
    with client_demo(tmp_path_factory.mktemp("claude-code-demo")) as running:
        yield running


@pytest.fixture(scope="module")
def claude_code(demo: ClientDemo, tmp_path_factory: pytest.TempPathFactory) -> ClaudeCodeRuns:
    return ClaudeCodeRuns(demo, tmp_path_factory.mktemp("claude-code-runs"))


def _first_errors(case_run: CaseRun) -> str:
    errors = error_answers(case_run.exchanges)
    return "\n".join(errors[:5]) if errors else "(none)"


@pytest.mark.parametrize("case", list(CASES))
def test_claude_code_answers_from_the_file(case: str, claude_code: ClaudeCodeRuns) -> None:
    outcome = claude_code.of(case)
    run = outcome.run
    context = f"{run.describe()}\nfirst error answers:\n{_first_errors(outcome)}"
    assert run.returncode == 0, context
    assert run.result is not None and run.result.get("is_error") is False, context
    assert outcome.token in run.answer, context
    assert "Read" in run.tool_uses(), context


@pytest.mark.parametrize("case", list(CASES))
def test_claude_code_gets_no_error_answer(case: str, claude_code: ClaudeCodeRuns) -> None:
    outcome = claude_code.of(case)
    assert outcome.exchanges, "no request reached the gateway"
    assert error_answers(outcome.exchanges) == [], _first_errors(outcome)
    assert outcome.gateway_errors == 0, f"/metrics counted {outcome.gateway_errors} 4xx/5xx answers"


@pytest.mark.parametrize("case", list(CASES))
def test_claude_code_needs_few_model_calls(case: str, claude_code: ClaudeCodeRuns) -> None:
    outcome = claude_code.of(case)
    calls = outcome.message_calls()
    assert 0 < calls < MAX_MESSAGE_CALLS, f"{calls} requests to {MESSAGES_PATH}; {outcome.run.describe()}"


@pytest.mark.parametrize("case", list(CASES))
def test_claude_code_usage_matches_the_ledger(case: str, claude_code: ClaudeCodeRuns, demo: ClientDemo) -> None:
    outcome = claude_code.of(case)
    reported = outcome.run.reported_usage()
    assert reported is not None, f"Claude Code reported no result: {outcome.run.describe()}"
    answered = count_route(outcome.exchanges, "POST", MESSAGES_PATH, status=200)
    ledger = demo.ledger_usage(outcome.key, rows=answered)
    assert ledger["requests"] == answered, f"{answered} answered model calls, {ledger['requests']} ledger rows"
    assert reported["input_tokens"] > 0, reported
    assert {
        "input_tokens": ledger["input_tokens"],
        "output_tokens": ledger["output_tokens"],
        "cache_creation_input_tokens": ledger["cache_write_tokens"],
        "cache_read_input_tokens": ledger["cache_read_tokens"],
    } == reported
