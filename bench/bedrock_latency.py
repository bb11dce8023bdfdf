"""Gateway-added latency for ``/anthropic/v1/messages`` routed to Bedrock (SigV4 signing included).

Both paths end at the same Bedrock emulator (a ``finops emulate bedrock`` subprocess, which verifies every
signature):

- direct: the bench signs each request itself with botocore (as boto3 would) and POSTs to
  ``/model/{id}/invoke`` or ``/invoke-with-response-stream``;
- through the gateway: the Anthropic-shaped request goes to a ``finops serve`` subprocess with
  ``x-model-provider: bedrock``; the gateway translates, signs and relays (streams re-framed as SSE).

Requests are sequential on one keep-alive connection, so the difference is the gateway's own work per call.
Times are to the last byte of the answer (streams read to the end); TTFB is also shown for streams.

Usage: .venv/bin/python bench/bedrock_latency.py [--requests 2000] [--model anthropic.claude-3-5-sonnet-...]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable

import httpx
import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from _procs import emulator, gateway
from finops.config import ProviderSettings
from finops.providers.bedrock.auth import build_auth
from finops.providers.bedrock.models import model_path

KEY_ID, SECRET, REGION = "AKIAFINOPSEMULATOR", "finops-emulator-secret", "us-east-1"
PROMPT = [{"role": "user", "content": "What is 2+2?"}]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


Sample = tuple[float, float]  # (time to first byte, time to last byte), ms


def measure(send: Callable[[httpx.Client], Sample], count: int) -> list[Sample]:
    samples = []
    with httpx.Client(timeout=30) as client:
        for _ in range(50):  # warm-up: connections, caches, JIT-free but import-heavy first calls
            send(client)
        for _ in range(count):
            samples.append(send(client))
    return samples


def timed(client: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> Sample:
    started = time.perf_counter()
    with client.stream("POST", url, content=body, headers=headers) as response:
        first = None
        for _ in response.iter_raw():
            first = first or time.perf_counter()
        if response.status_code != 200:
            raise RuntimeError(f"{url}: HTTP {response.status_code}")
    done = time.perf_counter()
    return ((first or done) - started) * 1000, (done - started) * 1000


def direct_sender(upstream: str, model: str, stream: bool) -> Callable[[httpx.Client], Sample]:
    signer = SigV4Auth(Credentials(KEY_ID, SECRET), "bedrock", REGION)
    action = "invoke-with-response-stream" if stream else "invoke"
    url = f"{upstream}/model/{model_path(model)}/{action}"
    body = orjson.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50, "messages": PROMPT})

    def send(client: httpx.Client) -> Sample:
        request = AWSRequest(
            method="POST", url=url, data=body, headers={"content-type": "application/json", "accept": "*/*"}
        )
        signer.add_auth(request)  # signing is part of a direct call's cost too
        return timed(client, url, body, dict(request.headers.items()))

    return send


def gateway_sender(base: str, model: str, stream: bool) -> Callable[[httpx.Client], Sample]:
    url = f"{base}/anthropic/v1/messages"
    body = orjson.dumps({"model": model, "max_tokens": 50, "messages": PROMPT, "stream": stream})
    headers = {
        "x-api-key": "bench",
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
        "x-model-provider": "bedrock",
    }
    return lambda client: timed(client, url, body, headers)


def signing_cost_us(count: int = 20000) -> float:
    """The adapter's own per-request signing cost (microseconds), measured in-process."""
    auth = build_auth(ProviderSettings(access_key_id=KEY_ID, secret_access_key=SECRET, region=REGION))
    url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke"
    body = orjson.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50, "messages": PROMPT})
    headers = {"content-type": "application/json", "accept": "application/json"}

    async def run() -> float:
        started = time.perf_counter()
        for _ in range(count):
            await auth.sign("POST", url, body, headers)
        return (time.perf_counter() - started) / count * 1e6

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--model", default="anthropic.claude-3-5-sonnet-20240620-v1:0")
    args = parser.parse_args()

    with emulator("bedrock") as upstream:
        config = (
            "database: {url: '{DB}'}\nproviders:\n"
            f"  bedrock: {{region: {REGION}, base_url: '{upstream}', access_key_id: {KEY_ID}, "
            f"secret_access_key: {SECRET}}}\n"
        )
        with gateway(config) as (base, _pid):
            rows = []
            for stream in (False, True):
                direct = measure(direct_sender(upstream, args.model, stream), args.requests)
                through = measure(gateway_sender(base, args.model, stream), args.requests)
                rows.append(("stream" if stream else "non-stream", direct, through))

    print(f"Bedrock via gateway vs direct signed calls, {args.requests} sequential requests each, model {args.model}")
    print(f"{'mode':<11} {'path':<8} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'TTFB p50':>9}")
    for mode, direct, through in rows:
        for label, samples in (("direct", direct), ("gateway", through)):
            last = [s[1] for s in samples]
            first = [s[0] for s in samples]
            print(
                f"{mode:<11} {label:<8} {percentile(last, 0.5):8.3f} {percentile(last, 0.99):8.3f} "
                f"{statistics.mean(last):8.3f} {percentile(first, 0.5):9.3f}"
            )
        d_last, g_last = [s[1] for s in direct], [s[1] for s in through]
        print(
            f"{mode:<11} {'added':<8} {percentile(g_last, 0.5) - percentile(d_last, 0.5):8.3f} "
            f"{percentile(g_last, 0.99) - percentile(d_last, 0.99):8.3f} "
            f"{statistics.mean(g_last) - statistics.mean(d_last):8.3f}"
        )
    print(f"adapter SigV4 signing cost (in-process): {signing_cost_us():.1f} us per request")


if __name__ == "__main__":
    main()
