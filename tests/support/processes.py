"""Real processes for the serving tests: the paced SSE upstream of ``bench/`` and ``finops serve`` with a handle on
its process (to signal it, list its workers, read its log)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from .demo import FINOPS, wait_healthy
from .servers import free_port

PACED_UPSTREAM = Path(__file__).resolve().parents[2] / "bench" / "paced_upstream.py"


def _stop(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def paced_upstream(*, first_ms: float, interval_ms: float, events: int) -> Iterator[str]:
    """``bench/paced_upstream.py`` as a process; yields its base URL. OpenAI chat chunks carry ``w0 w1 ...``."""
    port = free_port()
    argv = [sys.executable, str(PACED_UPSTREAM), "--port", str(port), "--first-ms", str(first_ms)]
    argv += ["--interval-ms", str(interval_ms), "--events", str(events)]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the paced upstream did not start")
            time.sleep(0.05)
        yield base
    finally:
        _stop(process)


@dataclass
class Gateway:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def workers(self) -> list[int]:
        """PIDs of the serving processes under this supervisor (its children that run the gateway)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = [int(pid) for pid in children.read_text().split()] if children.exists() else []
        return [pid for pid in pids if "spawn_main" in _cmdline(pid)]

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@contextmanager
def emulator_process(provider: str, *, batch_seconds: float = 5.0) -> Iterator[str]:
    """``finops emulate PROVIDER`` as its own process (it outlives a gateway killed with -9); yields its URL."""
    port = free_port()
    argv = [str(FINOPS), "emulate", provider, "--port", str(port), "--batch-seconds", str(batch_seconds)]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/_emulator/requests", timeout=1)
                break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the {provider} emulator did not start")
            time.sleep(0.05)
        yield base
    finally:
        _stop(process)


@contextmanager
def gateway_process(
    settings: dict[str, Any], workdir: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[Gateway]:
    """``finops serve --config <settings as YAML> --port P ARGS`` in ``workdir``; stopped (SIGTERM) at the end.
    ``env`` is added to this process's environment (fault points: ``FINOPS_FAULT_POINT``, ``TMPDIR``)."""
    config = workdir / "finops.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    port = free_port()
    log = workdir / f"finops-{port}.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [str(FINOPS), "serve", "--config", str(config), "--port", str(port), *args],
            cwd=workdir,
            env={**os.environ, **(env or {})},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log, timeout=60)
        yield Gateway(url, process, log)
    finally:
        _stop(process, timeout=60)
