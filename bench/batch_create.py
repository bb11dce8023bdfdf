"""Creating a 100,000-request batch through the gateway, per provider: peak RSS growth and the longest stall
other requests see meanwhile (issue 13 item 10).

Gateway and emulator are separate processes (``_procs``). While one client POSTs the batch, another pings
``/health`` every 10 ms on its own connection; the longest ping is the event-loop stall a concurrent request
would have seen (the loop cannot answer while it translates or serialises on its own thread). RSS is sampled every
5 ms (``PeakSampler``); growth is the peak minus the RSS before the POST.

Usage: .venv/bin/python bench/batch_create.py [--requests 100000] [--provider gemini --provider openai ...]
[--watchdog]

``--watchdog`` loads ``bench/stall_watchdog`` into the gateway (see its docstring) and adds the longest event-loop
lag it saw during the POST to each line, which tells a stall of the gateway's loop from the pinger or the gateway
getting no CPU on a loaded machine; its log (stacks of what ran meanwhile) stays in
``bench/results/stall-<provider>.log``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson

from _procs import BENCH, PeakSampler, emulator, gateway, rss_kib

MODELS = {"anthropic": "claude-3-5-haiku-20241022", "openai": "gpt-4o-mini", "gemini": "gemini-2.0-flash"}
PROVIDER_KEYS = {"anthropic": "sk-ant-bench", "openai": "sk-bench", "gemini": "bench"}
BASE_PATHS = {"anthropic": "", "openai": "/v1", "gemini": ""}


def batch_body(provider: str, count: int) -> bytes:
    requests = [
        {
            "custom_id": f"req-{index}",
            "params": {
                "model": MODELS[provider],
                "max_tokens": 64,
                "messages": [{"role": "user", "content": f"Question {index}: what is {index} + {index}?"}],
            },
        }
        for index in range(count)
    ]
    return orjson.dumps({"requests": requests})


_PINGER = """
import sys, time, httpx
url, worst = sys.argv[1], 0.0
with httpx.Client(timeout=60) as client:
    client.get(url)
    print("ready", flush=True)
    while not sys.stdin.closed:
        started = time.perf_counter()
        client.get(url)
        worst = max(worst, (time.perf_counter() - started) * 1000)
        print(f"{worst:.1f}", flush=True)
        time.sleep(0.01)
"""


class Pinger:
    """GET /health every 10 ms from a process of its own (a thread here would share this process's GIL with the
    client sending the batch, and measure that too); ``worst`` is the longest answer in milliseconds."""

    def __init__(self, url: str) -> None:
        self.url, self.worst = url, 0.0

    def __enter__(self) -> Pinger:
        self._process = subprocess.Popen(
            [sys.executable, "-c", _PINGER, self.url], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
        )
        assert self._process.stdout is not None
        self._process.stdout.readline()  # ready
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        output, _ = self._process.communicate()
        values = [float(line) for line in output.split() if line.replace(".", "", 1).isdigit()]
        self.worst = max(values, default=0.0)


def watched(provider: str) -> Path:
    """Have the next gateway started load the watchdog, logging to a file of ``provider``'s."""
    log = BENCH / "results" / f"stall-{provider}.log"
    os.environ["FINOPS_STALL_LOG"] = str(log)
    paths = [str(BENCH / "stall_watchdog"), *filter(None, [os.environ.get("PYTHONPATH")])]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return log


def longest(log: Path, kind: str, since: float, until: float) -> float:
    """The longest ``kind`` stall the watchdog logged between two wall-clock times."""
    found = re.findall(rf"^([\d.]+) {kind} (\d+) ms", log.read_text(), re.MULTILINE)
    return max((float(ms) for at, ms in found if since <= float(at) <= until), default=0.0)


def measure(provider: str, count: int, *, watchdog: bool = False) -> str:
    log = watched(provider) if watchdog else None
    with emulator(provider, batch_seconds=3600) as upstream:
        config = (
            "database: {url: '{DB}'}\n"
            f"providers:\n  {provider}: "
            f"{{api_key: {PROVIDER_KEYS[provider]}, base_url: '{upstream}{BASE_PATHS[provider]}'}}\n"
            "server: {max_batch_bytes: 1000000000}\n"
        )
        body = batch_body(provider, count)
        with gateway(config) as (base, pid):
            headers = {"x-api-key": "bench", "x-model-provider": provider, "content-type": "application/json"}
            httpx.get(f"{base}/health")
            before = rss_kib(pid)
            with PeakSampler(pid) as sampler, Pinger(f"{base}/health") as pinger:
                started, wall = time.perf_counter(), time.time()
                response = httpx.post(
                    f"{base}/anthropic/v1/messages/batches", content=body, headers=headers, timeout=600
                )
                seconds, wall_end = time.perf_counter() - started, time.time()
            response.raise_for_status()
            growth = (sampler.peak - before) / 1024
    line = (
        f"{provider:9} {count:,} requests ({len(body) / 1e6:.0f} MB body): create {seconds:.2f} s, "
        f"peak RSS +{growth:.0f} MB (before {before / 1024:.0f} MB), longest /health {pinger.worst:.0f} ms"
    )
    if log is not None:
        lag, gil = longest(log, "LOOP", wall, wall_end), longest(log, "GIL", wall, wall_end)
        line += f", watchdog: longest loop lag {lag:.0f} ms, GIL wait {gil:.0f} ms"
    return line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--provider", action="append", choices=sorted(MODELS))
    parser.add_argument("--watchdog", action="store_true", help="log the gateway's event-loop stalls (debug)")
    args = parser.parse_args()
    for provider in args.provider or ["gemini", "openai", "anthropic"]:
        print(measure(provider, args.requests, watchdog=args.watchdog), flush=True)


if __name__ == "__main__":
    main()
