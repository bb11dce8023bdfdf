"""Fixed-rate, open-loop HTTP/1.1 load generator (uvloop, raw sockets), because Debian ships no wrk2.

Request *i* is due at ``t0 + i / rate``; its latency runs from that intended time to the last byte of the answer,
so a stalled server is charged for the queue it causes (no coordinated omission). Requests go out on a pool of
keep-alive connections (opened up front, grown up to ``--max-connections``); a request with no free connection
waits in a backlog, and that wait counts in its latency. Responses with ``content-length`` or chunked bodies are
read to the end.

Usage: ``python bench/loadgen.py --port P --path /v1/messages --body-file F --header 'k: v' --rate 500
--duration 10`` prints one JSON line: sent, completed, errors, achieved rate, latency percentiles in ms.
Every phase is bounded: the run stops at ``warmup + duration + drain`` seconds whatever the server does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
import threading
import time
from collections import deque


class Connection(asyncio.Protocol):
    def __init__(self, generator: Generator) -> None:
        self.gen = generator
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.intended = 0.0
        self.sent_at = 0.0
        self.busy = False
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.busy:
            self.busy = False
            self.gen.failed(self)
        self.gen.forget(self)

    def send(self, intended: float) -> None:
        self.intended = intended
        self.sent_at = time.perf_counter()
        self.busy = True
        self.buffer.clear()
        assert self.transport is not None
        self.transport.write(self.gen.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        done = _complete(self.buffer)
        if done is None:
            return
        status, keep_alive = done
        self.busy = False
        self.gen.completed(self, status)
        if not keep_alive and self.transport is not None:
            self.transport.close()


def _complete(buffer: bytearray) -> tuple[int, bool] | None:
    """(status, keep_alive) once ``buffer`` holds a whole response, else None."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).lower()
    status = int(head[9:12])
    keep_alive = b"connection: close" not in head
    body_start = end + 4
    index = head.find(b"content-length:")
    if index >= 0:
        stop = head.find(b"\r\n", index)
        length = int(head[index + 15 : stop if stop >= 0 else len(head)])
        return (status, keep_alive) if len(buffer) >= body_start + length else None
    if b"transfer-encoding: chunked" in head:
        pos = body_start
        while True:
            line_end = buffer.find(b"\r\n", pos)
            if line_end < 0:
                return None
            size = int(bytes(buffer[pos:line_end]).split(b";")[0], 16)
            if size == 0:
                return (status, keep_alive) if buffer.find(b"\r\n", line_end + 2) >= 0 else None
            pos = line_end + 2 + size + 2
            if pos > len(buffer):
                return None
    return (status, keep_alive)


class Generator:
    def __init__(self, args: argparse.Namespace, request: bytes) -> None:
        self.args = args
        self.request = request
        self.idle: deque[Connection] = deque()
        self.all: set[Connection] = set()
        self.backlog: deque[float] = deque()
        self.opening = 0
        self.record_from = 0.0
        self.latencies: list[float] = []
        self.service: list[float] = []
        self.errors = 0
        self.status_errors = 0
        self.sent = 0
        self.loop = asyncio.get_running_loop()

    async def open(self) -> None:
        self.opening += 1
        try:
            _, conn = await self.loop.create_connection(lambda: Connection(self), self.args.host, self.args.port)
        except OSError:
            self.errors += 1
            return
        finally:
            self.opening -= 1
        self.all.add(conn)
        self._give(conn)

    def forget(self, conn: Connection) -> None:
        self.all.discard(conn)
        with contextlib.suppress(ValueError):
            self.idle.remove(conn)

    def _give(self, conn: Connection) -> None:
        if conn.closed:
            return
        if self.backlog:
            conn.send(self.backlog.popleft())
        else:
            self.idle.append(conn)

    def dispatch(self, intended: float) -> None:
        self.sent += 1
        while self.idle:
            conn = self.idle.popleft()
            if not conn.closed:
                conn.send(intended)
                return
        self.backlog.append(intended)
        if len(self.all) + self.opening < self.args.max_connections:
            self.loop.create_task(self.open())

    def completed(self, conn: Connection, status: int) -> None:
        now = time.perf_counter()
        if conn.intended >= self.record_from:
            if 200 <= status < 300:
                self.latencies.append(now - conn.intended)
                self.service.append(now - conn.sent_at)
            else:
                self.status_errors += 1
        self._give(conn)

    def failed(self, conn: Connection) -> None:
        if conn.intended >= self.record_from:
            self.errors += 1


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


async def run(args: argparse.Namespace, request: bytes) -> dict:
    gen = Generator(args, request)
    await asyncio.gather(*(gen.open() for _ in range(args.connections)))
    interval = 1.0 / args.rate
    t0 = time.perf_counter() + 0.05
    gen.record_from = t0 + args.warmup
    end = gen.record_from + args.duration
    total = int((end - t0) / interval)
    # The event loop's timers have 1 ms resolution; a thread sleeping with clock_nanosleep keeps the schedule
    # to a few tens of microseconds and hands each due request to the loop.
    finished = asyncio.Event()

    def ticker() -> None:
        for k in range(total):
            due = t0 + k * interval
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            gen.loop.call_soon_threadsafe(gen.dispatch, due)
        gen.loop.call_soon_threadsafe(finished.set)

    sys.setswitchinterval(0.0001)
    thread = threading.Thread(target=ticker, daemon=True)
    thread.start()
    await asyncio.wait_for(finished.wait(), timeout=end - time.perf_counter() + 30)
    i = total
    measured_sent = sum(1 for k in range(i) if t0 + k * interval >= gen.record_from)
    deadline = time.perf_counter() + args.drain
    while time.perf_counter() < deadline and (gen.backlog or any(c.busy for c in gen.all)):
        await asyncio.sleep(0.01)
    unfinished = len(gen.backlog) + sum(1 for c in gen.all if c.busy)
    for conn in list(gen.all):
        if conn.transport is not None:
            conn.transport.close()
    values = sorted(gen.latencies)
    service = sorted(gen.service)
    return {
        "mode": "fixed-rate",
        "tool": "bench/loadgen.py (open-loop, uvloop raw sockets)",
        "target_rate": args.rate,
        "duration_s": args.duration,
        "sent": measured_sent,
        "sent_total": gen.sent,  # warm-up included: what the server's CPU time was spent on
        "completed": len(values),
        "achieved_rps": len(values) / args.duration,
        "errors": gen.errors + gen.status_errors + unfinished,
        "connections": len(gen.all),
        "p50_ms": percentile(values, 0.50) * 1000,
        "p90_ms": percentile(values, 0.90) * 1000,
        "p99_ms": percentile(values, 0.99) * 1000,
        "p999_ms": percentile(values, 0.999) * 1000,
        "max_ms": (values[-1] * 1000) if values else float("nan"),
        "service_p50_ms": percentile(service, 0.50) * 1000,
        "service_p99_ms": percentile(service, 0.99) * 1000,
    }


def build_request(args: argparse.Namespace) -> bytes:
    with open(args.body_file, "rb") as handle:
        body = handle.read()
    lines = [
        f"POST {args.path} HTTP/1.1",
        f"host: {args.host}:{args.port}",
        f"content-length: {len(body)}",
        *args.header,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--body-file", required=True)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--drain", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--max-connections", type=int, default=256)
    args = parser.parse_args()
    request = build_request(args)
    try:
        import uvloop

        result = uvloop.run(run(args, request))
    except ImportError:
        result = asyncio.run(run(args, request))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
