"""What the gateway's upstream client costs per request, against a bare asyncio protocol in the same run.

Starts ``bench/upstream.py`` on core 1, then from core 0 sends sequential ``POST /v1/messages`` requests over one
kept-alive connection through:

* ``send()``: how the adapters call upstream (``build_request`` + ``providers.http.send`` + ``orjson.loads``);
* the pool transport alone (a prebuilt ``httpx.Request``);
* aiohttp, if it is importable (it is not a dependency any more; ``pip install aiohttp`` to compare);
* the floor: one ``asyncio.Protocol`` with an ``httptools`` parser, writing a prebuilt request.

Reports CPU and wall time per request. Usage: ``.venv/bin/python bench/upstream_client.py [--requests 4000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httptools
import orjson
import uvloop

from finops.config import ProviderSettings
from finops.core.errors import UpstreamError
from finops.providers.http import build_client, send

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


async def measure(name: str, call: Callable[[], Awaitable[object]], requests: int) -> None:
    for _ in range(200):
        await call()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        await call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{name:<34} CPU {cpu / requests * 1e6:7.1f} µs/request   wall {wall / requests * 1e6:7.1f} µs/request")


def _refuse(*_: object) -> Exception:
    return UpstreamError("the bench upstream refused a request")


async def run(port: int, requests: int) -> None:
    base = f"http://127.0.0.1:{port}"
    client = build_client(ProviderSettings(), base, headers={"x-api-key": "bench"})
    prebuilt = client.build_request("POST", "/v1/messages", headers=HEADERS, content=BODY)
    transport = client._transport

    async def via_send() -> object:
        request = client.build_request("POST", "/v1/messages", headers=HEADERS, content=BODY)
        response = await send(client, request, provider="anthropic", on_error=_refuse)
        return orjson.loads(response.content)

    async def via_transport() -> object:
        response = await transport.handle_async_request(prebuilt)
        return orjson.loads(await response.aread())

    loop = asyncio.get_running_loop()
    _, floor = await loop.create_connection(_Floor, "127.0.0.1", port)
    head = f"POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nx-api-key: bench\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in HEADERS.items())
    raw = f"{head}content-length: {len(BODY)}\r\n\r\n".encode() + BODY

    async def via_floor() -> object:
        floor.waiter = loop.create_future()
        floor.transport.write(raw)
        return orjson.loads(await floor.waiter)

    candidates: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("gateway client (send)", via_send),
        ("pool transport alone", via_transport),
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
    for name, call in candidates:
        await measure(name, call, requests)
    floor.transport.close()
    if session is not None:
        await session.close()
    await client.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
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
        uvloop.run(run(port, args.requests))
    finally:
        upstream.terminate()
        upstream.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
