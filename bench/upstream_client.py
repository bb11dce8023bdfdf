"""What the gateway's upstream client costs per request, against the alternatives and a bare protocol, in one run.

Starts ``bench/upstream.py`` on core 1, then from core 0 sends sequential ``POST /v1/messages`` requests over one
kept-alive connection through each candidate, in interleaved rounds (every candidate runs once per round, so a
busy moment on this shared machine hits all of them alike):

* ``send()``: how the adapters call upstream (``build_request`` + ``providers.http.send`` + ``orjson.loads``) on
  the gateway's client and pool;
* the pool transport alone (a prebuilt ``httpx.Request``);
* the gateway's client over httpx's own transport (``httpx.AsyncHTTPTransport``, the httpcore pool);
* a stock ``httpx.AsyncClient`` (``client.post``);
* aiohttp, if it is importable (it is not a dependency; ``pip install aiohttp`` to compare);
* the floor: one ``asyncio.Protocol`` with an ``httptools`` parser, writing a prebuilt request.

Reports the median over rounds of CPU and wall time per request.
Usage: ``.venv/bin/python bench/upstream_client.py [--requests 4000] [--rounds 8]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httptools
import httpx
import orjson
import uvloop

from finops.config import ProviderSettings
from finops.core.errors import UpstreamError
from finops.providers.client import UpstreamClient
from finops.providers.http import build_client, send
from finops.providers.pool import PoolTransport

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from _procs import free_port, wait_until_up  # noqa: E402

BODY = orjson.dumps({"model": "claude-bench", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})
HEADERS = {"anthropic-version": "2023-06-01", "content-type": "application/json"}


class _Floor(asyncio.Protocol):
    """The least a Python client can do: write prebuilt bytes, parse the answer, hand over the body."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[bytes] | None = None
        self.chunks: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        body, self.chunks = b"".join(self.chunks), []
        assert self.waiter is not None
        self.waiter.set_result(body)


Call = Callable[[], Awaitable[object]]


async def measure(candidates: list[tuple[str, Call]], requests: int, rounds: int) -> None:
    """Every candidate once per round, ``requests / rounds`` calls each time; the median round per candidate."""
    per_round = max(requests // rounds, 1)
    cpu: dict[str, list[float]] = {name: [] for name, _ in candidates}
    wall: dict[str, list[float]] = {name: [] for name, _ in candidates}
    for _name, call in candidates:  # warm-up: connections open, caches filled
        for _ in range(200):
            await call()
    for _ in range(rounds):
        for name, call in candidates:
            started_wall, started_cpu = time.perf_counter(), time.process_time()
            for _ in range(per_round):
                await call()
            wall[name].append((time.perf_counter() - started_wall) / per_round)
            cpu[name].append((time.process_time() - started_cpu) / per_round)
    for name, _ in candidates:
        low, high = min(cpu[name]) * 1e6, max(cpu[name]) * 1e6
        print(
            f"{name:<40} CPU {statistics.median(cpu[name]) * 1e6:7.1f} µs/request ({low:5.1f} to {high:5.1f})   "
            f"wall {statistics.median(wall[name]) * 1e6:7.1f} µs/request"
        )


def _refuse(*_: object) -> Exception:
    return UpstreamError("the bench upstream refused a request")


async def run(port: int, requests: int, rounds: int) -> None:
    base = f"http://127.0.0.1:{port}"
    settings = ProviderSettings()
    client = build_client(settings, base, headers={"x-api-key": "bench"})
    limits = httpx.Limits(max_connections=settings.max_connections)
    pool = PoolTransport(limits)
    prebuilt = client.build_request("POST", "/v1/messages", headers=HEADERS, content=BODY)
    # the same client class over httpx's own pool: what the gateway would cost with no pool of its own
    timeout = httpx.Timeout(connect=10.0, read=600.0, write=600.0, pool=30.0)
    httpcore_client = UpstreamClient(
        base, headers={"x-api-key": "bench"}, timeout=timeout, limits=limits, transport=httpx.AsyncHTTPTransport()
    )
    stock = httpx.AsyncClient(base_url=base, headers={"x-api-key": "bench"}, limits=limits)

    async def via_send() -> object:
        request = client.build_request("POST", "/v1/messages", headers=HEADERS, content=BODY)
        response = await send(client, request, provider="anthropic", on_error=_refuse)
        return orjson.loads(response.content)

    async def via_pool() -> object:
        response = await pool.handle_async_request(prebuilt)
        return orjson.loads(await response.aread())

    async def via_httpcore() -> object:
        request = httpcore_client.build_request("POST", "/v1/messages", headers=HEADERS, content=BODY)
        response = await send(httpcore_client, request, provider="anthropic", on_error=_refuse)
        return orjson.loads(response.content)

    async def via_stock_httpx() -> object:
        response = await stock.post("/v1/messages", headers=HEADERS, content=BODY)
        return orjson.loads(response.content)

    loop = asyncio.get_running_loop()
    _, floor = await loop.create_connection(_Floor, "127.0.0.1", port)
    head = f"POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nx-api-key: bench\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in HEADERS.items())
    raw = f"{head}content-length: {len(BODY)}\r\n\r\n".encode() + BODY

    async def via_floor() -> object:
        floor.waiter = loop.create_future()
        floor.transport.write(raw)
        return orjson.loads(await floor.waiter)

    candidates: list[tuple[str, Call]] = [
        ("gateway client (send)", via_send),
        ("pool transport alone", via_pool),
        ("gateway client over httpx's transport", via_httpcore),
        ("stock httpx.AsyncClient", via_stock_httpx),
    ]
    try:
        import aiohttp  # not a dependency: compared only where installed

        session = aiohttp.ClientSession(
            auto_decompress=False, skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type")
        )

        async def via_aiohttp() -> object:
            async with session.post(f"{base}/v1/messages", data=BODY, headers={**HEADERS, "x-api-key": "b"}) as reply:
                return orjson.loads(await reply.read())

        candidates.append(("bare aiohttp", via_aiohttp))
    except ImportError:
        session = None
    candidates.append(("floor: asyncio protocol + httptools", via_floor))
    await measure(candidates, requests, rounds)
    floor.transport.close()
    if session is not None:
        await session.close()
    for closing in (client, httpcore_client, pool, stock):
        await closing.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000, help="per candidate, over all rounds")
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    port = free_port()
    upstream = subprocess.Popen(
        ["taskset", "-c", "1", sys.executable, str(BENCH / "upstream.py"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", upstream)
        os.sched_setaffinity(0, {0})  # the client on core 0, the upstream on core 1
        uvloop.run(run(port, args.requests, args.rounds))
    finally:
        upstream.terminate()
        upstream.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
