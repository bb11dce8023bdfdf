"""Run the pinned Claude Code CLI (``tests/clients``) in print mode against a gateway, isolated and offline."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .node_clients import NODE_MODULES, run_in_own_group

CLAUDE = NODE_MODULES / ".bin" / "claude"

# Claude Code's switches for everything that is not the API call itself (its docs' "Environment variables" page;
# CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC implies the first four, which are set too in case that changes).
QUIET_ENVIRONMENT = {
    "DISABLE_TELEMETRY": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_BUG_COMMAND": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY": "1",
    "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL": "1",
    "CLAUDE_CODE_DISABLE_TERMINAL_TITLE": "1",
    "DISABLE_UPDATES": "1",
}
_NOWHERE = "http://127.0.0.1:9"  # the discard port: connections are refused at once
# Token counts in the result's ``modelUsage`` (per model, every call of the run, sub-agents included) and the
# Messages API names they stand for.
_MODEL_USAGE_FIELDS = {
    "inputTokens": "input_tokens",
    "outputTokens": "output_tokens",
    "cacheCreationInputTokens": "cache_creation_input_tokens",
    "cacheReadInputTokens": "cache_read_input_tokens",
}


@dataclass
class ClaudeRun:
    command: list[str]
    returncode: int | None
    """``None`` when the run was killed (see ``stopped``)."""
    stdout: str
    stderr: str
    stopped: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def result(self) -> dict[str, Any] | None:
        """The final ``{"type": "result", ...}`` event of ``--output-format stream-json``."""
        results = [event for event in self.events if event.get("type") == "result"]
        return results[-1] if results else None

    @property
    def answer(self) -> str:
        result = self.result
        return str(result.get("result", "")) if result else ""

    def reported_usage(self) -> dict[str, int] | None:
        """The tokens Claude Code says the run used: its ``modelUsage`` summed over models (this covers every
        call, side calls to a small model included); ``usage`` where a version reports no ``modelUsage``."""
        result = self.result
        if result is None:
            return None
        per_model = result.get("modelUsage")
        if isinstance(per_model, dict) and per_model:
            totals = dict.fromkeys(_MODEL_USAGE_FIELDS.values(), 0)
            for counts in per_model.values():
                for name, api_name in _MODEL_USAGE_FIELDS.items():
                    totals[api_name] += int(counts.get(name) or 0)
            return totals
        usage = result.get("usage") or {}
        return {api_name: int(usage.get(api_name) or 0) for api_name in _MODEL_USAGE_FIELDS.values()}

    def tool_uses(self) -> list[str]:
        """Names of the tools the model called, in order (from the assistant events)."""
        names = []
        for event in self.events:
            if event.get("type") != "assistant":
                continue
            for block in event.get("message", {}).get("content", []):
                if block.get("type") == "tool_use":
                    names.append(block.get("name", ""))
        return names

    def describe(self) -> str:
        """What a failing assertion prints: how it ended, the answer, the tools called and the output's tail."""
        ended = f"killed: {self.stopped}" if self.stopped else f"exit {self.returncode}"
        return (
            f"{ended}; answer: {self.answer[:500]!r}; tools called: {self.tool_uses()[:20]}\n"
            f"stderr tail: {self.stderr[-1500:]}\nstdout tail: {self.stdout[-1500:]}"
        )


def claude_environment(home: Path, base_url: str, api_key: str, headers: dict[str, str]) -> dict[str, str]:
    """A clean environment: nothing of the caller's (real keys, settings, proxies) leaks into the run."""
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "TMPDIR": str(home / "tmp"),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        # Anything but the gateway on loopback goes to a proxy address where nothing listens: the run stays
        # offline even on a machine with internet access.
        "HTTPS_PROXY": _NOWHERE,
        "HTTP_PROXY": _NOWHERE,
        "NO_PROXY": "127.0.0.1,localhost",
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": api_key,
        **QUIET_ENVIRONMENT,
    }
    if headers:
        environment["ANTHROPIC_CUSTOM_HEADERS"] = "\n".join(f"{name}: {value}" for name, value in headers.items())
    return environment


def run_claude(
    prompt: str,
    *,
    cwd: Path,
    home: Path,
    base_url: str,
    api_key: str,
    headers: dict[str, str],
    model: str | None = None,
    timeout: float = 120,
    stop_when: Callable[[], str | None] | None = None,
) -> ClaudeRun:
    """``claude -p PROMPT --output-format stream-json`` in ``cwd``, with only the Read tool pre-approved."""
    command = [str(CLAUDE), "-p", prompt, "--output-format", "stream-json", "--verbose", "--allowedTools", "Read"]
    if model is not None:
        command += ["--model", model]
    environment = claude_environment(home, base_url, api_key, headers)
    finished = run_in_own_group(command, cwd=cwd, env=environment, timeout=timeout, stop_when=stop_when)
    return ClaudeRun(
        command, finished.returncode, finished.stdout, finished.stderr, finished.stopped, _events(finished.stdout)
    )


def _events(stdout: str) -> list[dict[str, Any]]:
    events = []
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events
