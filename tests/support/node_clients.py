"""The pinned Node clients (``tests/clients``, installed by ``scripts/test``) and how a test runs one of them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

CLIENTS_DIR = Path(__file__).resolve().parents[1] / "clients"
NODE_MODULES = CLIENTS_DIR / "node_modules"


@dataclass(frozen=True)
class Finished:
    returncode: int | None
    """``None`` when the process was killed at its timeout."""
    stdout: str
    stderr: str


def run_in_own_group(command: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> Finished:
    """Run ``command`` in a process group of its own and kill the whole group when it ends or times out, so
    nothing it spawned (Claude Code's tools and agents, say) outlives the test."""
    if not NODE_MODULES.is_dir():
        raise RuntimeError(f"{NODE_MODULES} is missing: run ./scripts/test once, it installs the pinned clients")
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        returncode: int | None = process.returncode
    except subprocess.TimeoutExpired:
        _kill_group(process.pid)
        stdout, stderr = process.communicate()
        returncode = None
    _kill_group(process.pid)  # anything it left running in the background
    return Finished(returncode, stdout, stderr)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
