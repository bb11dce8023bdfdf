"""Run the pinned Claude Code CLI (``tests/clients``) in print mode against a gateway, isolated and offline."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .node_clients import NODE_MODULES, run_in_own_group

CLAUDE = NODE_MODULES / ".bin" / "claude"

# Claude Code's own switches for everything that is not the API call itself (docs: "Environment variables";
# CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC implies the first four, they are set too in case that changes).
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


@dataclass
class ClaudeRun:
    command: list[str]
    returncode: int | None
    """``None`` when the run was killed at its timeout."""
    stdout: str
    stderr: str
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    @property
    def result(self) -> dict[str, Any] | None:
        """The final ``{"type": "result", ...}`` event of ``--output-format stream-json``."""
        results = [event for event in self.events if event.get("type") == "result"]
        return results[-1] if results else None

    @property
    def answer(self) -> str:
        result = self.result
        return str(result.get("result", "")) if result else ""

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
        """What a failing assertion prints: the exit, the answer, and the tail of the output."""
        return (
            f"exit={self.returncode} (timed out: {self.timed_out})\nanswer: {self.answer[:500]!r}\n"
            f"stderr tail: {self.stderr[-1500:]}\nstdout tail: {self.stdout[-1500:]}"
        )


def claude_environment(home: Path, base_url: str, api_key: str, headers: dict[str, str]) -> dict[str, str]:
    """A clean environment: nothing of the caller's (no real keys, settings or proxies) leaks into the run."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "TMPDIR": str(home / "tmp"),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": api_key,
        "ANTHROPIC_CUSTOM_HEADERS": "\n".join(f"{name}: {value}" for name, value in headers.items()),
        # Loopback only: a request to anywhere else fails at once instead of leaving the machine.
        "NO_PROXY": "127.0.0.1,localhost",
        **QUIET_ENVIRONMENT,
    }
    (home / "tmp").mkdir(parents=True, exist_ok=True)
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
) -> ClaudeRun:
    """``claude -p PROMPT --output-format stream-json`` in ``cwd``; the process group is killed at ``timeout``."""
    command = [str(CLAUDE), "-p", prompt, "--output-format", "stream-json", "--verbose", "--allowedTools", "Read"]
    if model is not None:
        command += ["--model", model]
    finished = run_in_own_group(
        command, cwd=cwd, env=claude_environment(home, base_url, api_key, headers), timeout=timeout
    )
    return ClaudeRun(command, finished.returncode, finished.stdout, finished.stderr, _events(finished.stdout))


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
