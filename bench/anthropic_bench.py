"""Issue 2 measurements, in one run:

1. gateway-added latency (p50/p99) for non-streaming /anthropic/v1/messages, Anthropic provider, against calling
   the emulator directly;
2. the gateway's peak RSS while a 500 MB file is uploaded through it;
3. the gateway's peak RSS while the results of a 100,000-request batch stream through it.

Usage: .venv/bin/python bench/anthropic_bench.py [--requests 2000] [--upload-mb 500] [--batch 100000]
"""

from __future__ import annotations

import argparse
import time

import httpx
import orjson

from _procs import PeakSampler, emulator, gateway, latencies, print_added_latency, rss_kib, upload_peak

MODEL = "claude-3-sonnet-20240229"
BODY = orjson.dumps({"model": MODEL, "max_tokens": 20, "messages": [{"role": "user", "content": "What is 2+2?"}]})
HEADERS = {"x-api-key": "bench", "anthropic-version": "2023-06-01", "content-type": "application/json"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--upload-mb", type=int, default=500)
    parser.add_argument("--batch", type=int, default=100_000)
    args = parser.parse_args()

    with emulator("anthropic", batch_seconds=2) as upstream:
        config = f"database: {{url: '{{DB}}'}}\nproviders:\n  anthropic: {{api_key: bench, base_url: '{upstream}'}}\n"
        with gateway(config) as (base, pid):
            direct = latencies(f"{upstream}/v1/messages", BODY, HEADERS, args.requests)
            through = latencies(f"{base}/anthropic/v1/messages", BODY, HEADERS, args.requests)
            print_added_latency("messages", direct, through)
            print(upload_peak(base, pid, args.upload_mb, {"x-api-key": "bench"}))

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
