"""The response cache's cost (issue 15). ``cd bench && ../.venv/bin/python cache.py [--entries 1000,10000,100000]``

Part 1, in process (the cache service over a real SQLite store, no HTTP): for each store size,

- how long a process takes to mirror the store at start-up, and its memory per entry (RSS growth / entries);
- lookup cost, p50/p99 over 2,000 lookups: exact hit, exact miss (the mirror; a catch-up query at most every
  0.1 s), semantic miss and semantic hit (the embedding call excluded: the query vector is given), and the
  synchronous part of offering an answer on a miss.

Semantic entries are 256-dimension unit vectors (``text-embedding-3-small`` at ``dimensions: 256``) in two shapes:
``spread`` (10 entries per conversation context, the usual case) and ``one context`` (every entry in one group:
the worst case, searched by usearch HNSW once past 1,024 vectors).

Part 2, end to end (``--http``): a ``finops serve`` subprocess in front of the OpenAI emulator (another
subprocess), its store holding the largest size; sequential requests on one kept-alive connection: cache off
(``x-finops-cache: off``), exact miss (every request new), exact hit, semantic hit (embedding included: the
emulator answers it).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import os
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _procs import emulator, gateway, percentile, rss_kib

DIMENSIONS = 256
ANSWER = orjson.dumps(
    {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "gpt-4o-mini",
        "content": [
            {"type": "text", "text": "A short cached answer of about twenty words, as small chat answers are."}
        ],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 20,
            "output_tokens": 20,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }
)


def _hex(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


async def _fill(database_url: str, count: int, per_context: int, seed: int = 1) -> None:
    """``count`` entries straight into the store (as gateways would have written them)."""
    from finops.store.db import create_engine, migrate
    from finops.store.tables import cache_entries

    engine = create_engine(database_url)
    await migrate(engine)
    rng = np.random.default_rng(seed)
    now = time.time()
    rows = []
    async with engine.begin() as connection:
        for index in range(count):
            vector = rng.standard_normal(DIMENSIONS).astype(np.float32)
            vector /= np.linalg.norm(vector)
            rows.append(
                {
                    "namespace": "anon:bench",
                    "exact_key": _hex("exact", index),
                    "context_key": _hex("context", index // per_context),
                    "provider": "openai",
                    "model": "gpt-4o-mini",
                    "message": ANSWER,
                    "embedding": "openai:text-embedding-3-small:256",
                    "vector": vector.astype("<f4").tobytes(),
                    "created_at": now - 60,
                    "expires_at": now + 86_400,
                    "last_used_at": now - 60,
                    "hits": 0,
                }
            )
            if len(rows) == 2000:
                await connection.execute(cache_entries.insert(), rows)
                rows = []
        if rows:
            await connection.execute(cache_entries.insert(), rows)
    await engine.dispose()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used (less sensitive than wall time to a busy machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stats(samples: tuple[list[float], list[float]]) -> str:
    wall, cpu = samples
    return (
        f"wall p50 {percentile(wall, 0.5) * 1000:7.1f} p99 {percentile(wall, 0.99) * 1000:8.1f} µs | "
        f"CPU p50 {percentile(cpu, 0.5) * 1000:6.1f} p99 {percentile(cpu, 0.99) * 1000:7.1f} µs"
    )


async def _timed(work: Callable[[int], Awaitable[Any]], count: int = 2000) -> tuple[list[float], list[float]]:
    """Wall and CPU (this thread's) milliseconds per call: on a shared machine the wall p99 is mostly the
    scheduler's, the CPU p99 the code's."""
    wall, cpu = [], []
    for index in range(count):
        started, started_cpu = time.perf_counter(), time.thread_time()
        await work(index)
        cpu.append((time.thread_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    return wall, cpu


async def in_process(count: int, per_context: int, label: str) -> None:
    from finops.cache.index import unit
    from finops.cache.keys import RequestKeys
    from finops.cache.service import ResponseCache
    from finops.config import CacheSettings
    from finops.store.cache import CacheRepository
    from finops.store.db import create_engine

    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite+aiosqlite:///{scratch}/bench.db"
        await _fill(url, count, per_context)
        engine = create_engine(url)
        settings = CacheSettings.model_validate(
            {
                "enabled": True,
                "mode": "semantic",
                "max_entries": count * 2,
                "embedding": {"provider": "openai", "model": "text-embedding-3-small", "dimensions": DIMENSIONS},
            }
        )
        cache = ResponseCache(settings, CacheRepository(engine))
        gc.collect()
        before = rss_kib(os.getpid())
        started = time.perf_counter()
        await cache.sync()
        loaded = time.perf_counter() - started
        gc.collect()
        per_entry = (rss_kib(os.getpid()) - before) * 1024 / count
        rng = np.random.default_rng(99)
        heads = await CacheRepository(engine).heads(list(range(1, min(count, 2000) + 1)), time.time())
        vectors = {head.seq: np.frombuffer(head.vector or b"", dtype="<f4") for head in heads}

        def keys(index: int, *, present: bool) -> RequestKeys:
            seq = 1 + index % len(heads)
            exact = bytes.fromhex(heads[seq - 1].exact_key) if present else os.urandom(32)
            return RequestKeys(exact, bytes.fromhex(heads[seq - 1].context_key or ""), "question")

        async def exact_hit(index: int) -> None:
            assert await cache.find_exact(keys(index, present=True)) is not None

        async def exact_miss(index: int) -> None:
            assert await cache.find_exact(keys(index, present=False)) is None

        async def semantic_hit(index: int) -> None:
            seq = 1 + index % len(heads)
            near = unit(vectors[seq] + 0.004 * rng.standard_normal(DIMENSIONS).astype(np.float32))
            found.append(await cache.find_similar(keys(index, present=True), near, 0.95) is not None)

        async def semantic_miss(index: int) -> None:
            far = unit(rng.standard_normal(DIMENSIONS).astype(np.float32))
            cache._loaded = False  # measure the index alone; the on-miss catch-up is one more store query
            assert await cache.find_similar(keys(index, present=True), far, 0.95) is None

        message = orjson.loads(ANSWER)

        async def offer(index: int) -> None:
            key = RequestKeys(os.urandom(32), os.urandom(32), "q")
            cache.offer(key, ("anon:bench", "openai", "gpt-4o-mini"), message, 3600, vectors[1])

        print(f"\n{label}: {count:,} entries ({per_context:,} per context)")
        print(f"  mirror at start-up : {loaded:6.2f} s, {per_entry:,.0f} bytes of RSS per entry")
        cold = await _timed(exact_hit, len(heads))  # each entry's first hit here reads its answer from the store
        print(f"  exact hit, cold    : {_stats(cold)}   (first hit of an entry in this process)")
        print(f"  exact hit          : {_stats(await _timed(exact_hit))}")
        print(f"  exact miss         : {_stats(await _timed(exact_miss))}   (catch-up query at most every 0.1 s)")
        found: list[bool] = []
        timed = await _timed(semantic_hit)
        recall = sum(found) / len(found)
        print(f"  semantic hit       : {_stats(timed)}   (embedding excluded; found {recall:.1%} of near-duplicates)")
        print(f"  semantic miss      : {_stats(await _timed(semantic_miss))}   (embedding excluded)")
        print(f"  offer on a miss    : {_stats(await _timed(offer, 500))}   (the write itself runs behind)")
        await cache.settle()
        await engine.dispose()


def end_to_end(count: int, requests: int) -> None:
    import httpx

    with tempfile.TemporaryDirectory() as scratch:
        database = Path(scratch) / "bench.db"
        asyncio.run(_fill(f"sqlite+aiosqlite:///{database}", count, 10))
        with emulator("openai") as upstream:
            config = f"""
database: {{url: "sqlite+aiosqlite:///{database}"}}
providers:
  openai: {{api_key: bench, base_url: "{upstream}/v1"}}
cache:
  enabled: true
  mode: exact
  max_entries: {count * 2}
  embedding: {{provider: openai, model: text-embedding-3-small, dimensions: {DIMENSIONS}}}
"""
            with gateway(config) as (base, pid):
                url = f"{base}/anthropic/v1/messages"
                headers = {"x-api-key": "bench-key", "x-model-provider": "openai", "content-type": "application/json"}

                def body(text: str) -> bytes:
                    return orjson.dumps(
                        {"model": "gpt-4o-mini", "max_tokens": 50, "messages": [{"role": "user", "content": text}]}
                    )

                with httpx.Client(timeout=60) as client:
                    deadline = time.monotonic() + 120  # the gateway mirrors the store in the background
                    while time.monotonic() < deadline:
                        text = httpx.get(f"{base}/metrics").text
                        if any(
                            line.startswith("finops_cache_entries ") and float(line.split()[1]) >= count
                            for line in text.splitlines()
                        ):
                            break
                        time.sleep(0.5)

                    def run(label: str, make: Callable[[int], tuple[bytes, dict[str, str]]], expect: str) -> None:
                        for index in range(50):
                            client.post(url, content=make(-index - 1)[0], headers={**headers, **make(-index - 1)[1]})
                        samples = []
                        cpu_before = _cpu_seconds(pid)
                        for index in range(requests):
                            payload, extra = make(index)
                            started = time.perf_counter()
                            response = client.post(url, content=payload, headers={**headers, **extra})
                            samples.append((time.perf_counter() - started) * 1000)
                            assert response.status_code == 200 and response.headers.get("x-finops-cache") == expect, (
                                response.status_code,
                                response.headers.get("x-finops-cache"),
                            )
                        cpu = (_cpu_seconds(pid) - cpu_before) / requests * 1000
                        p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
                        print(
                            f"  {label:<22}: p50 {p50:6.3f} ms   p99 {p99:6.3f} ms   gateway CPU {cpu:5.3f} ms/request"
                        )

                    client.post(url, content=body("the cached question"), headers=headers)
                    time.sleep(0.5)
                    rss = rss_kib(pid) / 1024
                    print(
                        f"\nend to end, {requests} sequential requests, {count:,} entries (gateway RSS {rss:.0f} MiB)"
                    )
                    run("cache off (bypass)", lambda i: (body(f"off {i}"), {"x-finops-cache": "off"}), "bypass")
                    run(
                        "exact miss", lambda i: (body(f"new question {i}"), {"x-finops-cache-no-store": "true"}), "miss"
                    )
                    run("exact hit", lambda i: (body("the cached question"), {}), "hit")
                    run(
                        "semantic miss",
                        lambda i: (
                            body(f"unrelated topic number {i} about rivers"),
                            {"x-finops-cache": "semantic", "x-finops-cache-no-store": "true"},
                        ),
                        "miss",
                    )
                _raw_client(base, headers, body("the cached question"))


def _raw_client(base: str, headers: dict[str, str], cached: bytes, count: int = 3000) -> None:
    """The same requests without httpx in the way: a blocking socket, one kept-alive connection, the next request
    sent as soon as the answer is in (closed loop), with ``GET /health`` through the same server as the floor:
    what any answer from this gateway costs on this machine."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())

    def request(method: str, path: str, body: bytes = b"", extra: str = "") -> bytes:
        return f"{method} {path} HTTP/1.1\r\nhost: {host}\r\ncontent-length: {len(body)}\r\n{extra}\r\n".encode() + body

    runs = [
        ("GET /health (floor)", request("GET", "/health")),
        ("exact hit", request("POST", "/anthropic/v1/messages", cached, head)),
        ("cache off (bypass)", request("POST", "/anthropic/v1/messages", cached, head + "x-finops-cache: off\r\n")),
    ]
    print(f"\nraw client (blocking socket, one connection, {count} sequential requests)")
    with socket.create_connection((host, int(port))) as connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for label, payload in runs:
            samples = []
            for index in range(count + 200):
                started = time.perf_counter()
                connection.sendall(payload)
                status = _read_answer(connection)
                if index >= 200:  # the first 200 warm up
                    samples.append((time.perf_counter() - started) * 1000)
                assert status == 200, status
            p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
            print(f"  {label:<22}: p50 {p50:6.3f} ms   p99 {p99:6.3f} ms")


def _read_answer(connection: socket.socket) -> int:
    """Read one HTTP/1.1 answer with a ``content-length`` (every answer measured here has one); its status."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += connection.recv(65536)
    return int(head.split(b" ", 2)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", default="1000,10000,100000")
    parser.add_argument("--http", action="store_true", help="also measure end to end through finops serve")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--one-context", action="store_true", help="also the worst case: every entry in one group")
    parser.add_argument("--only-one-context", action="store_true", help="the worst case only")
    parser.add_argument("--http-only", action="store_true", help="only the end-to-end part (largest size)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.entries.split(",")]
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    for size in [] if args.http_only else sizes:
        if not args.only_one_context:
            asyncio.run(in_process(size, 10, "spread"))
        if args.one_context or args.only_one_context:
            asyncio.run(in_process(size, size, "one context"))
    if args.http or args.http_only:
        end_to_end(max(sizes), args.requests)


if __name__ == "__main__":
    main()
