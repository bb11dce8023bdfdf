"""What the crash-safe ledger and exact budgets (issue 13 items 4 and 5) cost per request.

``.venv/bin/python bench/ledger_durability.py [--requests N] [--seconds S] [--concurrency C]``

One ``finops serve`` per configuration (SQLite, or ``--database postgresql+asyncpg://...``; one worker) in front
of ``bench/upstream.py`` (fixed answers, no work), governed by a virtual key; they run side by side and take
turns in ``--rounds`` short rounds:

- ``write-behind``: no journal, ``governance.ledger_wait_seconds: 0``, no budget (the rows are written after the
  answer: the behaviour before issue 13, a kill -9 loses the rows not yet written);
- ``commit-wait``: no journal (``ledger_journal: false``): the answer's last byte waits for its row's commit
  (group commit), no budget;
- ``journal``: the default: the row is appended to the local journal before the answer ends, the database gets
  it behind the answer (``finops.governance.journal``), no budget;
- ``journal+budget``: the default with a budget on the key: every request reads its spend from the database, and
  its row is committed before the answer ends (so every process sees it).

For each: sequential latency (one client, kept-alive connection; p50/p99 in ms) and closed-loop throughput with
``--concurrency`` clients for ``--seconds`` (median of the rounds' rates).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _procs import BENCH, free_port, gateway, percentile, wait_until_up

ADMIN_KEY = "bench-admin-key-0123456789abcdef"
MODEL = "claude-3-5-haiku-20241022"
BODY = orjson.dumps({"model": MODEL, "max_tokens": 32, "messages": [{"role": "user", "content": "hi"}]})


def _config(upstream: int, wait: float | None, journal: bool, database: str) -> str:
    lines = [
        "providers:",
        "  anthropic:",
        "    api_key: bench-anthropic-key",
        f"    base_url: http://127.0.0.1:{upstream}",
        "database:",
        f"  url: {database}",
        "governance:",
        f"  admin_key: {ADMIN_KEY}",
    ]
    lines.append(f"  ledger_journal: {'true' if journal else 'false'}")
    if wait is not None:
        lines.append(f"  ledger_wait_seconds: {wait}")
    return "\n".join(lines) + "\n"


def _key(base: str, budget: float | None) -> str:
    fields: dict[str, Any] = {"name": "bench"}
    if budget is not None:
        fields["budget_usd"] = budget
    answer = httpx.post(f"{base}/admin/keys", headers={"authorization": f"Bearer {ADMIN_KEY}"}, json=fields)
    answer.raise_for_status()
    return str(answer.json()["key"])


def _sequential(url: str, headers: dict[str, str], count: int) -> list[float]:
    samples = []
    with httpx.Client(timeout=30) as client:
        for _ in range(20):
            client.post(url, content=BODY, headers=headers).raise_for_status()
        for _ in range(count):
            started = time.perf_counter()
            client.post(url, content=BODY, headers=headers).raise_for_status()
            samples.append((time.perf_counter() - started) * 1000)
    return samples


async def _throughput(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            (await client.post(url, content=BODY, headers=headers)).raise_for_status()
            done += 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="sequential requests per configuration")
    parser.add_argument("--seconds", type=float, default=10.0, help="closed-loop seconds per configuration")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--database", default="{DB}", help="a PostgreSQL URL to measure on (default: SQLite in a temp directory)"
    )
    args = parser.parse_args()
    port = free_port()
    runs = [
        ("write-behind", 0.0, False, None),
        ("commit-wait", None, False, None),
        ("journal", None, True, None),
        ("journal+budget", None, True, 1_000_000.0),
    ]
    samples: dict[str, list[float]] = {label: [] for label, *_ in runs}
    rates: dict[str, list[float]] = {label: [] for label, *_ in runs}
    with tempfile.TemporaryDirectory(prefix="finops-bench-") as tmp, contextlib.ExitStack() as stack:
        log = stack.enter_context((Path(tmp) / "upstream.log").open("wb"))
        upstream = subprocess.Popen([sys.executable, str(BENCH / "upstream.py"), "--port", str(port)], stdout=log)
        stack.callback(upstream.wait, 20)
        stack.callback(upstream.terminate)
        wait_until_up(f"http://127.0.0.1:{port}/health", upstream)
        targets = []
        for label, wait, journal, budget in runs:
            base, _pid = stack.enter_context(gateway(_config(port, wait, journal, args.database)))
            headers = {"content-type": "application/json", "anthropic-version": "2023-06-01"}
            headers["x-api-key"] = _key(base, budget)
            targets.append((label, f"{base}/anthropic/v1/messages", headers))
        # The gateways run side by side and take turns in short rounds: a machine shared with other work
        # drifts, and interleaving spreads the drift over all three instead of charging it to one.
        for _ in range(args.rounds):
            for label, url, headers in targets:
                samples[label] += _sequential(url, headers, args.requests // args.rounds)
                rates[label].append(
                    asyncio.run(_throughput(url, headers, args.seconds / args.rounds, args.concurrency))
                )
    print(f"{'configuration':16} {'p50 ms':>8} {'p99 ms':>8} {'rps (c=' + str(args.concurrency) + ')':>12}")
    for label, *_ in runs:
        rps = statistics.median(rates[label])
        print(f"{label:16} {percentile(samples[label], 0.5):8.3f} {percentile(samples[label], 0.99):8.3f} {rps:12.0f}")


if __name__ == "__main__":
    main()
