"""Gemini provider measurements, in one run (gateway and emulator as separate processes):

1. gateway-added latency (p50/p99) for non-streaming /anthropic/v1/messages translated to Gemini, against
   calling the emulator's ``generateContent`` directly with the equivalent Gemini body;
2. the gateway's peak RSS (sampled VmRSS, and the kernel's VmHWM) while a 500 MB file goes through it with
   Gemini's resumable upload protocol.

Usage: .venv/bin/python bench/gemini_bench.py [--requests 2000] [--upload-mb 500]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from _procs import emulator, gateway, rss_kib
from anthropic_bench import PeakSampler, percentile
from finops.providers.gemini.translate import to_generate_request

MODEL = "gemini-1.5-flash"
PARAMS = {"model": MODEL, "max_tokens": 20, "messages": [{"role": "user", "content": "What is 2+2?"}]}
GATEWAY_BODY = orjson.dumps(PARAMS)
GATEWAY_HEADERS = {
    "x-api-key": "bench",
    "anthropic-version": "2023-06-01",
    "content-type": "application/json",
    "x-model-provider": "gemini",
}
DIRECT_BODY = orjson.dumps(to_generate_request(PARAMS)[1])
DIRECT_HEADERS = {"x-goog-api-key": "bench", "content-type": "application/json"}


def latencies(url: str, body: bytes, headers: dict[str, str], count: int) -> list[float]:
    samples = []
    with httpx.Client(timeout=30) as client:
        for _ in range(50):  # warm-up: connections, caches
            client.post(url, content=body, headers=headers).raise_for_status()
        for _ in range(count):
            started = time.perf_counter()
            client.post(url, content=body, headers=headers).raise_for_status()
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--upload-mb", type=int, default=500)
    args = parser.parse_args()

    with emulator("gemini", batch_seconds=2) as upstream:
        config = f"database: {{url: '{{DB}}'}}\nproviders:\n  gemini: {{api_key: bench, base_url: '{upstream}'}}\n"
        with gateway(config) as (base, pid):
            direct_url = f"{upstream}/v1beta/models/{MODEL}:generateContent"
            direct = latencies(direct_url, DIRECT_BODY, DIRECT_HEADERS, args.requests)
            through = latencies(f"{base}/anthropic/v1/messages", GATEWAY_BODY, GATEWAY_HEADERS, args.requests)
            p50d, p99d = percentile(direct, 0.5), percentile(direct, 0.99)
            p50g, p99g = percentile(through, 0.5), percentile(through, 0.99)
            print(f"messages -> gemini generateContent, {args.requests} sequential requests (ms)")
            print(f"  direct to emulator : p50 {p50d:.3f}  p99 {p99d:.3f}  mean {statistics.mean(direct):.3f}")
            print(f"  through gateway    : p50 {p50g:.3f}  p99 {p99g:.3f}  mean {statistics.mean(through):.3f}")
            print(f"  gateway-added      : p50 {p50g - p50d:.3f}  p99 {p99g - p99d:.3f}")

            with tempfile.TemporaryDirectory() as scratch:
                path = Path(scratch) / "big.bin"
                with path.open("wb") as handle:
                    chunk = os.urandom(1024 * 1024)
                    for _ in range(args.upload_mb):
                        handle.write(chunk)
                before, hwm_before = rss_kib(pid), rss_kib(pid, "VmHWM")
                started = time.perf_counter()
                with PeakSampler(pid) as sampler, path.open("rb") as handle:
                    response = httpx.post(
                        f"{base}/anthropic/v1/files",
                        headers={"x-api-key": "bench", "x-model-provider": "gemini"},
                        files={"file": ("big.bin", handle, "application/octet-stream")},
                        timeout=600,
                    )
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                assert response.json()["size_bytes"] == args.upload_mb * 1024 * 1024
                hwm_after = rss_kib(pid, "VmHWM")
                print(
                    f"upload {args.upload_mb} MB (resumable, 8 MiB chunks) in {elapsed:.1f} s: gateway RSS before "
                    f"{before / 1024:.1f} MB, sampled peak {sampler.peak / 1024:.1f} MB "
                    f"(+{(sampler.peak - before) / 1024:.1f} MB); VmHWM {hwm_before / 1024:.1f} -> "
                    f"{hwm_after / 1024:.1f} MB"
                )


if __name__ == "__main__":
    main()
