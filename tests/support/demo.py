"""``finops serve --demo`` as a real subprocess (the README's first command, minus the install)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from .servers import free_port

FINOPS = Path(sys.executable).parent / "finops"


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gateway exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"gateway did not become healthy:\n{log.read_text()}")


@contextmanager
def finops_process(args: list[str], workdir: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run ``finops serve ARGS --port P`` in ``workdir``; yields ``http://127.0.0.1:P``; stops it with SIGTERM."""
    port = free_port()
    log = workdir / f"finops-{port}.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [str(FINOPS), "serve", *args, "--port", str(port)],
            cwd=workdir,
            env={**os.environ, **(env or {})},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def demo_gateway(workdir: Path, extra: list[str] | None = None) -> Iterator[str]:
    with finops_process(["--demo", *(extra or [])], workdir) as url:
        yield url
