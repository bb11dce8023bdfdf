"""Issue 2 measurements, in one run:

1. gateway-added latency (p50/p99) for non-streaming /anthropic/v1/messages, Anthropic provider, against calling
   the emulator directly;
2. the gateway's peak RSS while a 500 MB file is uploaded through it;
3. the gateway's peak RSS while the results of a 100,000-request batch stream through it.

Usage: .venv/bin/python bench/anthropic_bench.py [--requests 2000] [--upload-mb 500] [--batch 100000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import orjson

from _procs import emulator, gateway, rss_kib

MODEL = "claude-3-sonnet-20240229"
BODY = orjson.dumps({"model": MODEL, "max_tokens": 20, "messages": [{"role": "user", "content": "What is 2+2?"}]})
HEADERS = {"x-api-key": "bench", "anthropic-version": "2023-06-01", "content-type": "application/json"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latencies(url: str, count: int) -> list[float]:
    samples = []
    with httpx.Client(timeout=30) as client:
        for _ in range(50):  # warm-up: connections, caches
            client.post(url, content=BODY, headers=HEADERS).raise_for_status()
        for _ in range(count):
            started = time.perf_counter()
            client.post(url, content=BODY, headers=HEADERS).raise_for_status()
            samples.append((time.perf_counter() - started) * 1000)
    return samples


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--upload-mb", type=int, default=500)
    parser.add_argument("--batch", type=int, default=100_000)
    args = parser.parse_args()

    with emulator("anthropic", batch_seconds=2) as upstream:
        config = f"database: {{url: '{{DB}}'}}\nproviders:\n  anthropic: {{api_key: bench, base_url: '{upstream}'}}\n"
        with gateway(config) as (base, pid):
            direct = latencies(f"{upstream}/v1/messages", args.requests)
            through = latencies(f"{base}/anthropic/v1/messages", args.requests)
            p50d, p99d = percentile(direct, 0.5), percentile(direct, 0.99)
            p50g, p99g = percentile(through, 0.5), percentile(through, 0.99)
            print(f"messages, {args.requests} sequential requests (ms)")
            print(f"  direct to emulator : p50 {p50d:.3f}  p99 {p99d:.3f}  mean {statistics.mean(direct):.3f}")
            print(f"  through gateway    : p50 {p50g:.3f}  p99 {p99g:.3f}  mean {statistics.mean(through):.3f}")
            print(f"  gateway-added      : p50 {p50g - p50d:.3f}  p99 {p99g - p99d:.3f}")

            with tempfile.TemporaryDirectory() as scratch:
                path = Path(scratch) / "big.bin"
                with path.open("wb") as handle:
                    chunk = os.urandom(1024 * 1024)
                    for _ in range(args.upload_mb):
                        handle.write(chunk)
                before = rss_kib(pid)
                with PeakSampler(pid) as sampler, path.open("rb") as handle:
                    response = httpx.post(
                        f"{base}/anthropic/v1/files",
                        headers={"x-api-key": "bench"},
                        files={"file": ("big.bin", handle, "application/octet-stream")},
                        timeout=600,
                    )
                response.raise_for_status()
                assert response.json()["size_bytes"] == args.upload_mb * 1024 * 1024
                print(
                    f"upload {args.upload_mb} MB: gateway RSS before {before / 1024:.1f} MB, "
                    f"peak {sampler.peak / 1024:.1f} MB (+{(sampler.peak - before) / 1024:.1f} MB)"
                )

            requests = [
                {
                    "custom_id": f"r{i}",
                    "params": {"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": f"q{i}"}]},
                }
                for i in range(args.batch)
            ]
            with httpx.Client(base_url=f"{base}/anthropic", headers={"x-api-key": "bench"}, timeout=600) as client:
                batch = client.post("/v1/messages/batches", json={"requests": requests}).json()
                del requests
                while client.get(f"/v1/messages/batches/{batch['id']}").json()["processing_status"] != "ended":
                    time.sleep(0.5)
                before = rss_kib(pid)
                lines = 0
                with (
                    PeakSampler(pid) as sampler,
                    client.stream("GET", f"/v1/messages/batches/{batch['id']}/results") as stream,
                ):
                    for line in stream.iter_lines():
                        lines += bool(line)
                assert lines == args.batch, lines
                print(
                    f"results of a {args.batch:,}-request batch: gateway RSS before {before / 1024:.1f} MB, "
                    f"peak {sampler.peak / 1024:.1f} MB (+{(sampler.peak - before) / 1024:.1f} MB)"
                )


if __name__ == "__main__":
    main()
