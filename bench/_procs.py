"""Process helpers shared by the bench scripts: start finops subprocesses, read their memory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

FINOPS = str(Path(sys.executable).parent / "finops")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not found for {pid}")


def _wait(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def emulator(provider: str, batch_seconds: float = 2.0) -> Iterator[str]:
    port = free_port()
    cmd = [FINOPS, "emulate", provider, "--port", str(port), "--batch-seconds", str(batch_seconds)]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(f"http://127.0.0.1:{port}/_emulator/requests", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextmanager
def gateway(config_yaml: str) -> Iterator[tuple[str, int]]:
    """A gateway subprocess; yields (base URL, pid)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        config = Path(workdir) / "finops.yaml"
        config.write_text(config_yaml.replace("{DB}", f"sqlite+aiosqlite:///{workdir}/bench.db"))
        process = subprocess.Popen(
            [FINOPS, "serve", "--config", str(config), "--port", str(port)],
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ},
        )
        try:
            _wait(f"http://127.0.0.1:{port}/health", process)
            yield f"http://127.0.0.1:{port}", process.pid
        finally:
            process.terminate()
            process.wait(timeout=30)
