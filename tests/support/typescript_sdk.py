"""Run ``tests/clients/sdk_checks.mjs`` (the official TypeScript SDK, pinned) and read its one-line-per-check report."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from .node_clients import CLIENTS_DIR, run_in_own_group

SCRIPT = CLIENTS_DIR / "sdk_checks.mjs"

# The checks the script runs, in its order (the test module parametrizes over them, so each is reported by name).
CHECKS = (
    "messages_create",
    "messages_stream",
    "tool_round_trip",
    "system_message_mid_conversation",
    "structured_output",
    "thinking_enabled",
    "thinking_enabled_stream",
    "thinking_adaptive",
    "prompt_caching",
    "count_tokens",
    "models_list",
    "prefix_routing_messages",
    "prefix_routing_models_retrieve",
    "prefix_routing_batches",
    "files",
    "batches",
)


@dataclass
class SdkRun:
    returncode: int | None
    """``None`` when the run was killed at its timeout."""
    stdout: str
    stderr: str
    results: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def usage_seen(self) -> dict[str, int] | None:
        """The usage the SDK reported, summed over every answer the script got with its messages key."""
        line = self.results.get("usage_seen")
        return line["usage"] if line else None

    def describe(self) -> str:
        return f"exit={self.returncode}\nstderr tail: {self.stderr[-2000:]}\nstdout tail: {self.stdout[-2000:]}"


def run_sdk_checks(target: dict[str, Any], timeout: float = 300) -> SdkRun:
    """``node sdk_checks.mjs TARGET_JSON``; its process group is killed at ``timeout``."""
    finished = run_in_own_group(
        ["node", str(SCRIPT), json.dumps(target)],
        cwd=CLIENTS_DIR,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NO_PROXY": "127.0.0.1,localhost"},
        timeout=timeout,
    )
    results = {}
    for line in finished.stdout.splitlines():
        if line.startswith("{"):
            try:
                report = json.loads(line)
            except ValueError:
                continue
            results[report["check"]] = report
    return SdkRun(finished.returncode, finished.stdout, finished.stderr, results)
