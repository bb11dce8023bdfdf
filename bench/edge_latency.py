"""What issue 13's edge fixes (items 7-13) cost per request: gateway-added latency of ``/anthropic/v1/messages``
to the Anthropic emulator (one kept-alive connection, sequential), and of a batch list (the Host check of
``results_url``). Run it with each tree's interpreter to compare, e.g.

    /work/main/.venv/bin/python bench/edge_latency.py      # before
    .venv/bin/python bench/edge_latency.py                 # after

(``_procs`` starts ``finops`` from the interpreter's own venv, so each run measures that venv's tree.)
"""

from __future__ import annotations

import argparse
import statistics

import orjson

from _procs import emulator, gateway, latencies, percentile

PARAMS = {"model": "claude-3-5-haiku-20241022", "max_tokens": 20, "messages": [{"role": "user", "content": "2+2?"}]}
HEADERS = {"x-api-key": "bench", "anthropic-version": "2023-06-01", "content-type": "application/json"}


def summary(label: str, samples: list[float]) -> str:
    return (
        f"{label}: p50 {percentile(samples, 0.5):.3f} ms  p99 {percentile(samples, 0.99):.3f} ms  "
        f"mean {statistics.mean(samples):.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    body = orjson.dumps(PARAMS)
    with emulator("anthropic") as upstream:
        config = f"database: {{url: '{{DB}}'}}\nproviders:\n  anthropic: {{api_key: bench, base_url: '{upstream}'}}\n"
        with gateway(config) as (base, _pid):
            direct = latencies(f"{upstream}/v1/messages", body, HEADERS, args.requests)
            through = latencies(f"{base}/anthropic/v1/messages", body, HEADERS, args.requests)
            print(summary("direct to emulator", direct))
            print(summary("through gateway   ", through))
            added = [percentile(through, q) - percentile(direct, q) for q in (0.5, 0.99)]
            print(f"gateway-added: p50 {added[0]:.3f} ms  p99 {added[1]:.3f} ms")


if __name__ == "__main__":
    main()
