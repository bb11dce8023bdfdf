"""Helpers shared by the per-provider bench scripts: finops subprocesses, memory sampling, latency loops."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
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


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
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
        wait_until_up(f"http://127.0.0.1:{port}/_emulator/requests", process)
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
            wait_until_up(f"http://127.0.0.1:{port}/health", process)
            yield f"http://127.0.0.1:{port}", process.pid
        finally:
            process.terminate()
            process.wait(timeout=30)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latencies(url: str, body: bytes, headers: dict[str, str], count: int) -> list[float]:
    """Milliseconds per request for ``count`` sequential POSTs on one kept-alive connection (after a warm-up)."""
    samples = []
    with httpx.Client(timeout=30) as client:
        for _ in range(50):  # warm-up: connections, caches
            client.post(url, content=body, headers=headers).raise_for_status()
        for _ in range(count):
            started = time.perf_counter()
            client.post(url, content=body, headers=headers).raise_for_status()
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def print_added_latency(label: str, direct: list[float], through: list[float]) -> None:
    p50d, p99d = percentile(direct, 0.5), percentile(direct, 0.99)
    p50g, p99g = percentile(through, 0.5), percentile(through, 0.99)
    print(f"{label}, {len(direct)} sequential requests (ms)")
    print(f"  direct to emulator : p50 {p50d:.3f}  p99 {p99d:.3f}  mean {statistics.mean(direct):.3f}")
    print(f"  through gateway    : p50 {p50g:.3f}  p99 {p99g:.3f}  mean {statistics.mean(through):.3f}")
    print(f"  gateway-added      : p50 {p50g - p50d:.3f}  p99 {p99g - p99d:.3f}")


class PeakSampler:
    """Samples a process's VmRSS every 5 ms on a thread; ``peak`` is the highest value seen (KiB)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.005)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def upload_peak(base: str, pid: int, megabytes: int, headers: dict[str, str]) -> str:
    """Upload a ``megabytes`` MB file through the gateway; a line saying how its memory moved meanwhile."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "big.bin"
        with path.open("wb") as handle:
            chunk = os.urandom(1024 * 1024)
            for _ in range(megabytes):
                handle.write(chunk)
        before, hwm_before = rss_kib(pid), rss_kib(pid, "VmHWM")
        started = time.perf_counter()
        with PeakSampler(pid) as sampler, path.open("rb") as handle:
            response = httpx.post(
                f"{base}/anthropic/v1/files",
                headers=headers,
                files={"file": ("big.bin", handle, "application/octet-stream")},
                timeout=600,
            )
        elapsed = time.perf_counter() - started
    response.raise_for_status()
    assert response.json()["size_bytes"] == megabytes * 1024 * 1024
    return (
        f"upload {megabytes} MB in {elapsed:.1f} s: gateway RSS before {before / 1024:.1f} MB, sampled peak "
        f"{sampler.peak / 1024:.1f} MB (+{(sampler.peak - before) / 1024:.1f} MB); VmHWM {hwm_before / 1024:.1f} -> "
        f"{rss_kib(pid, 'VmHWM') / 1024:.1f} MB"
    )
