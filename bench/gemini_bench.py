"""Gemini provider measurements, in one run (gateway and emulator as separate processes):

1. gateway-added latency (p50/p99) for non-streaming /anthropic/v1/messages translated to Gemini, against
   calling the emulator's ``generateContent`` directly with the equivalent Gemini body;
2. the gateway's peak RSS (sampled VmRSS, and the kernel's VmHWM) while a 500 MB file goes through it with
   Gemini's resumable upload protocol.

Usage: .venv/bin/python bench/gemini_bench.py [--requests 2000] [--upload-mb 500]
"""

from __future__ import annotations

import argparse

import orjson

from _procs import emulator, gateway, latencies, print_added_latency, upload_peak
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
            print_added_latency("messages -> gemini generateContent", direct, through)
            print(upload_peak(base, pid, args.upload_mb, {"x-api-key": "bench", "x-model-provider": "gemini"}))


if __name__ == "__main__":
    main()
