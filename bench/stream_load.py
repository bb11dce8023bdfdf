"""Stream load generator: N concurrent SSE streams held open, every event timed (uvloop raw protocols).

N "users" start one after another, spread evenly over ``--ramp`` seconds; each sends one streaming request, reads
the answer to its end and, while ``ramp + hold`` seconds have not passed, sends the next on the same keep-alive
connection, so N streams stay open through the hold. The paced upstream (``bench/paced_upstream.py``) numbers its
text deltas ``w0 w1 ...``; every delta is located in the de-chunked body (Anthropic ``"text":"w<k> "`` or OpenAI
``"content":"w<k> "``), checked to come in order, and its arrival time kept:

* time to first event: first delta's arrival - request written;
* gap: arrival of delta k - arrival of delta k-1;
* lateness: arrival of delta k - (request written + first delay + k x interval), the schedule it should keep.

A stream is complete when it has all its deltas in order, its terminal event (``message_stop`` / ``[DONE]``), and
the end of its body; anything else counts as failed, by cause. Prints one JSON line. Every phase is bounded in time.

Usage: ``python bench/stream_load.py --port P --path /anthropic/v1/messages --body-file F --header 'k: v'
--streams 1000 --ramp 5 --hold 10 --events 40 --first-ms 200 --interval-ms 250``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import socket
import sys
import time
from typing import Any

_DELTA = re.compile(rb'"(?:text|content)":\s?"w(\d+) ')  # compact JSON or json.dumps' default separators
_TERMINAL = (b"message_stop", b"data: [DONE]")
_ERROR = b"event: error"


class Stats:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.first = args.first_ms / 1000
        self.interval = args.interval_ms / 1000
        self.ttfe: list[float] = []
        self.ttfe_first_round: list[float] = []  # each user's first stream (its connection just opened)
        self.gaps: list[float] = []
        self.lateness: list[float] = []
        self.completed = 0
        self.failed: dict[str, int] = {}
        self.events = 0
        self.open = 0
        self.peak_open = 0
        self.started = 0
        self.timeline: list[tuple[float, int]] = []

    def fail(self, reason: str) -> None:
        self.failed[reason] = self.failed.get(reason, 0) + 1


class User(asyncio.Protocol):
    """One connection that runs streams back to back until the hold ends."""

    def __init__(self, gen: LoadGenerator) -> None:
        self.gen, self.stats = gen, gen.stats
        self.transport: asyncio.Transport | None = None
        self.in_stream = False
        self.rounds = 0
        self.reset()

    def reset(self) -> None:
        self.raw = bytearray()  # bytes not yet de-chunked (head first)
        self.head_done = False
        self.chunked = True
        self.remaining = -1  # content-length left, when not chunked
        self.sse = bytearray()
        self.sent_at = 0.0
        self.last_at = 0.0
        self.expected = 0
        self.terminal = False
        self.body_done = False
        self.error: str | None = None

    # -- transport -------------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transport = transport  # type: ignore[assignment]
        self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.in_stream:
            self.finish("closed-mid-stream" if self.head_done else "closed-before-answer")
        self.gen.user_done(self)

    def send(self) -> None:
        assert self.transport is not None
        self.reset()
        self.in_stream = True
        self.rounds += 1
        self.stats.open += 1
        self.stats.started += 1
        self.stats.peak_open = max(self.stats.peak_open, self.stats.open)
        self.sent_at = time.perf_counter()
        self.transport.write(self.gen.request)

    def finish(self, failure: str | None) -> None:
        self.in_stream = False
        self.stats.open -= 1
        if failure is None:
            self.stats.completed += 1
        else:
            self.stats.fail(failure)

    # -- parsing ---------------------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if not self.in_stream:
            return
        now = time.perf_counter()
        self.raw += data
        if not self.head_done:
            end = self.raw.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.raw[:end]).lower()
            del self.raw[: end + 4]
            self.head_done = True
            if not head.startswith(b"http/1.1 200"):
                self.error = "status-" + head[9:12].decode(errors="replace")
                self.done_with_stream(keep=False)
                return
            self.chunked = b"transfer-encoding: chunked" in head
            match = re.search(rb"content-length:\s*(\d+)", head)
            self.remaining = int(match.group(1)) if match else -1
        if self.chunked:
            self.dechunk()
        else:
            self.sse += self.raw
            if self.remaining >= 0:
                self.remaining -= len(self.raw)
                self.body_done = self.remaining <= 0
            self.raw.clear()
        self.scan(now)
        if self.body_done or self.error is not None:
            self.done_with_stream(keep=self.error is None)

    def dechunk(self) -> None:
        raw = self.raw
        pos = 0
        while True:
            line_end = raw.find(b"\r\n", pos)
            if line_end < 0:
                break
            size = int(bytes(raw[pos:line_end]).split(b";", 1)[0], 16)
            if size == 0:
                if raw.find(b"\r\n", line_end + 2) < 0:
                    break
                self.body_done = True
                pos = len(raw)
                break
            if len(raw) < line_end + 2 + size + 2:
                break
            self.sse += raw[line_end + 2 : line_end + 2 + size]
            pos = line_end + 2 + size + 2
        del raw[:pos]

    def scan(self, now: float) -> None:
        sse = self.sse
        end = sse.rfind(b"\n\n")
        if end < 0:
            return
        events = bytes(sse[: end + 2])
        del sse[: end + 2]
        stats = self.stats
        for match in _DELTA.finditer(events):
            index = int(match.group(1))
            if index != self.expected:
                self.error = "out-of-order"
                return
            if index == 0:
                stats.ttfe.append(now - self.sent_at)
                if self.rounds == 1:
                    stats.ttfe_first_round.append(now - self.sent_at)
            else:
                stats.gaps.append(now - self.last_at)
            stats.lateness.append(now - (self.sent_at + stats.first + index * stats.interval))
            self.last_at = now
            self.expected += 1
        if _ERROR in events:
            self.error = "error-event"
        elif _TERMINAL[0] in events or _TERMINAL[1] in events:
            self.terminal = True

    def done_with_stream(self, *, keep: bool) -> None:
        failure = self.error
        if failure is None and not (self.terminal and self.expected == self.gen.args.events):
            failure = "incomplete"
        if failure is None:
            self.stats.events += self.expected
        self.finish(failure)
        if keep and failure is None and time.perf_counter() < self.gen.hold_until and self.transport is not None:
            self.send()
        elif self.transport is not None:
            self.transport.close()


class LoadGenerator:
    def __init__(self, args: argparse.Namespace, request: bytes) -> None:
        self.args = args
        self.request = request
        self.stats = Stats(args)
        self.loop = asyncio.get_running_loop()
        self.users: set[User] = set()
        self.pending = args.streams
        self.all_done = asyncio.Event()
        self.hold_until = 0.0

    async def start_user(self) -> None:
        try:
            await self.loop.create_connection(lambda: User(self), self.args.host, self.args.port)
        except OSError:
            self.stats.fail("connect")
            self.stats.started += 1
            self.user_done(None)

    def user_done(self, user: User | None) -> None:
        self.pending -= 1
        if self.pending <= 0:
            self.all_done.set()

    async def run(self) -> dict[str, Any]:
        args = self.args
        stream_seconds = args.first_ms / 1000 + (args.events - 1) * args.interval_ms / 1000
        t0 = time.perf_counter() + 0.05
        self.hold_until = t0 + args.ramp + args.hold
        deadline = self.hold_until + stream_seconds + args.timeout_extra
        step = args.ramp / max(args.streams, 1)
        loop_t0 = self.loop.time() + 0.05
        for index in range(args.streams):
            self.loop.call_at(loop_t0 + index * step, lambda: self.loop.create_task(self.start_user()))

        async def sample() -> None:
            while True:
                self.stats.timeline.append((round(time.perf_counter() - t0, 2), self.stats.open))
                await asyncio.sleep(0.5)

        sampler = self.loop.create_task(sample())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.all_done.wait(), timeout=max(1.0, deadline - time.perf_counter()))
        sampler.cancel()
        stats = self.stats
        unfinished = stats.open
        if unfinished:
            stats.failed["timeout"] = stats.failed.get("timeout", 0) + unfinished
        elapsed = time.perf_counter() - t0
        return summary(stats, args, elapsed)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


def summary(stats: Stats, args: argparse.Namespace, elapsed: float) -> dict[str, Any]:
    return {
        "tool": "bench/stream_load.py (uvloop raw protocols)",
        "streams_target": args.streams,
        "ramp_s": args.ramp,
        "hold_s": args.hold,
        "started": stats.started,
        "completed": stats.completed,
        "failed": sum(stats.failed.values()),
        "failures": stats.failed,
        "peak_open": stats.peak_open,
        "events": stats.events,
        "elapsed_s": round(elapsed, 2),
        "ttfe_p50_ms": ms(percentile(stats.ttfe, 0.50)),
        "ttfe_p99_ms": ms(percentile(stats.ttfe, 0.99)),
        "ttfe_max_ms": ms(max(stats.ttfe) if stats.ttfe else None),
        "ttfe_first_round_p99_ms": ms(percentile(stats.ttfe_first_round, 0.99)),
        "gap_p50_ms": ms(percentile(stats.gaps, 0.50)),
        "gap_p99_ms": ms(percentile(stats.gaps, 0.99)),
        "gap_max_ms": ms(max(stats.gaps) if stats.gaps else None),
        "late_p50_ms": ms(percentile(stats.lateness, 0.50)),
        "late_p99_ms": ms(percentile(stats.lateness, 0.99)),
        "timeline": stats.timeline,
    }


def build_request(args: argparse.Namespace) -> bytes:
    with open(args.body_file, "rb") as handle:
        body = handle.read()
    lines = [f"POST {args.path} HTTP/1.1", f"host: {args.host}:{args.port}", f"content-length: {len(body)}"]
    return ("\r\n".join([*lines, *args.header]) + "\r\n\r\n").encode() + body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--body-file", required=True)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--streams", type=int, required=True, help="concurrent streams to ramp to and hold")
    parser.add_argument("--ramp", type=float, default=5.0, help="seconds over which the streams start")
    parser.add_argument("--hold", type=float, default=10.0, help="seconds to keep restarting finished streams")
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--first-ms", type=float, default=200.0)
    parser.add_argument("--interval-ms", type=float, default=250.0)
    parser.add_argument("--timeout-extra", type=float, default=30.0, help="seconds past the schedule before giving up")
    args = parser.parse_args()
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    request = build_request(args)

    async def go() -> dict[str, Any]:
        return await LoadGenerator(args, request).run()

    try:
        import uvloop

        result = uvloop.run(go())
    except ImportError:
        result = asyncio.run(go())
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
