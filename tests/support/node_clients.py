"""The pinned Node clients (``tests/clients``, installed by ``scripts/test``) and how a test runs one of them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CLIENTS_DIR = Path(__file__).resolve().parents[1] / "clients"
NODE_MODULES = CLIENTS_DIR / "node_modules"


@dataclass(frozen=True)
class Finished:
    returncode: int | None
    """``None`` when the process was killed (at its timeout, or because ``stop_when`` said so)."""
    stdout: str
    stderr: str
    stopped: str | None = None
    """Why the process was killed, if it was."""


def run_in_own_group(
    command: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    timeout: float,
    stop_when: Callable[[], str | None] | None = None,
) -> Finished:
    """Run ``command`` in a process group of its own and kill the whole group when it ends, when ``timeout``
    passes or as soon as ``stop_when`` returns a reason, so nothing it spawned (Claude Code's tools and agents,
    say) outlives the test and a runaway client is stopped at once rather than at the timeout."""
    if not NODE_MODULES.is_dir():
        raise RuntimeError(f"{NODE_MODULES} is missing: run ./scripts/test once, it installs the pinned clients")
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        stopped = None
        while process.poll() is None:
            reason = stop_when() if stop_when else None
            if reason is None and time.monotonic() > deadline:
                reason = f"still running after {timeout:.0f} s"
            if reason is not None:
                stopped = reason
                break
            time.sleep(0.2)
        _kill_group(process.pid)  # on a stop, and also anything it left running in the background
        returncode = process.wait() if stopped is None else None
        if stopped is not None:
            process.wait()
        stdout.seek(0)
        stderr.seek(0)
        return Finished(returncode, stdout.read(), stderr.read(), stopped)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
