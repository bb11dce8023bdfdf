"""Gateway memory for Bedrock batches and files on S3 (issue 16): a 100,000-request batch built into S3 input and
a model-invocation job, its results streamed back, and a large file upload, each ≤ 200 MB (upload ≤ 64 MB) growth.

Starts ``finops emulate bedrock`` (a bucket, objects under a temporary ``--state-dir``) and ``finops serve`` with
``providers.bedrock.batch`` pointing at it, both as their own processes, then, sampling the gateway's VmRSS every
5 ms (``PeakSampler``):

1. ``POST /v1/messages/batches`` with ``--requests`` Claude requests (parsed, translated to InvokeModel records,
   written to disk, uploaded to S3 in 8 MiB parts, job created);
2. waits for the job to end on the emulator (not sampled), then reads ``/results`` to the end, counting lines;
3. uploads a ``--upload-mb`` MiB file through ``/v1/files`` (multipart to S3).

Growth is the sampled peak minus the RSS after a warm-up batch and upload. Usage:

    cd bench && ../.venv/bin/python bedrock_batch.py [--requests 100000] [--upload-mb 1024]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time

import httpx
import orjson

from _procs import FINOPS, PeakSampler, free_port, gateway, rss_kib, upload_peak, wait_until_up

KEY_ID, SECRET, BUCKET = "AKIAFINOPSEMULATOR", "finops-emulator-secret", "bench-batches"
CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
HEADERS = {"x-api-key": "bench", "x-model-provider": "bedrock"}

CONFIG = """
server: {{max_file_bytes: 4294967296}}
database: {{url: "{{DB}}"}}
providers:
  bedrock:
    region: us-east-1
    base_url: {url}
    access_key_id: {key}
    secret_access_key: {secret}
    batch: {{s3_bucket: {bucket}, role_arn: "arn:aws:iam::123456789012:role/bench", s3_url: {url}, control_url: {url}}}
"""


def batch_body(count: int) -> bytes:
    requests = [
        {
            "custom_id": f"req-{index}",
            "params": {
                "model": CLAUDE,
                "max_tokens": 64,
                "messages": [{"role": "user", "content": f"Question {index}: what is {index} + {index}?"}],
            },
        }
        for index in range(count)
    ]
    return orjson.dumps({"requests": requests})


def run_batch(base: str, pid: int, count: int) -> dict[str, float]:
    body = batch_body(count)
    client = httpx.Client(base_url=f"{base}/anthropic", headers=HEADERS, timeout=900)
    before = rss_kib(pid)
    started = time.perf_counter()
    with PeakSampler(pid) as sampler:
        created = client.post("/v1/messages/batches", content=body, headers={"content-type": "application/json"})
    create_seconds = time.perf_counter() - started
    created.raise_for_status()
    batch_id = created.json()["id"]
    deadline = time.monotonic() + 3600
    while client.get(f"/v1/messages/batches/{batch_id}").json()["processing_status"] != "ended":
        assert time.monotonic() < deadline, "the batch did not end"
        time.sleep(2)
    results_before = rss_kib(pid)
    lines = 0
    started = time.perf_counter()
    results = f"/v1/messages/batches/{batch_id}/results"
    with PeakSampler(pid) as results_sampler, client.stream("GET", results) as answer:
        answer.raise_for_status()
        for line in answer.iter_lines():
            if line.strip():
                lines += 1
    results_seconds = time.perf_counter() - started
    assert lines == count, f"{lines} result lines for {count} requests"
    return {
        "body_mb": len(body) / 1e6,
        "create_s": create_seconds,
        "create_before_mb": before / 1024,
        "create_peak_mb": sampler.peak / 1024,
        "results_s": results_seconds,
        "results_before_mb": results_before / 1024,
        "results_peak_mb": results_sampler.peak / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--upload-mb", type=int, default=1024)
    parser.add_argument("--batch-seconds", type=float, default=5.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-bedrock-batch-") as state:
        port = free_port()
        command = [FINOPS, "emulate", "bedrock", "--port", str(port), "--bucket", BUCKET, "--state-dir", state]
        command += ["--batch-seconds", str(args.batch_seconds), "--access-key-id", KEY_ID]
        command += ["--secret-access-key", SECRET]
        emulator = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(f"{url}/_emulator/requests", emulator)
            config = CONFIG.format(url=url, key=KEY_ID, secret=SECRET, bucket=BUCKET)
            with gateway(config) as (base, pid):
                run_batch(base, pid, 100)  # warm-up: code paths, pools, allocator arenas
                upload_peak(base, pid, 24, HEADERS)
                found = run_batch(base, pid, args.requests)
                print(
                    f"batch of {args.requests} requests ({found['body_mb']:.1f} MB body): create "
                    f"{found['create_s']:.1f} s, gateway RSS {found['create_before_mb']:.1f} -> peak "
                    f"{found['create_peak_mb']:.1f} MB (+{found['create_peak_mb'] - found['create_before_mb']:.1f} MB)"
                )
                print(
                    f"results streamed in {found['results_s']:.1f} s: gateway RSS {found['results_before_mb']:.1f} "
                    f"-> peak {found['results_peak_mb']:.1f} MB "
                    f"(+{found['results_peak_mb'] - found['results_before_mb']:.1f} MB)"
                )
                print(upload_peak(base, pid, args.upload_mb, HEADERS))
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)


if __name__ == "__main__":
    main()
