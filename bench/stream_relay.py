"""CPU per relayed stream event: the gateway's streaming path from upstream bytes to the client's SSE frames.

Over sockets (the default): a paced fake upstream (a separate process: its CPU is not counted) answers every
streaming call of the four providers with ``--events`` content events, one event per TCP write and ``--gap-us``
apart (uvloop timers tick in milliseconds, so 1 ms is the shortest real gap), so the gateway receives them one
by one as it does from a real model. In this process each provider's adapter streams the answer
(``provider.stream_message``, on uvloop as ``finops serve`` runs) and the consumer reads every frame and the
final usage, as the governor does. Process CPU time over ``--streams`` streams divided by the events relayed is
the cost per event: the event loop, the socket and the HTTP client's receive path are included (the ``floor``
row is a bare socket reading the same stream); the Starlette response and the client socket are not.

``--in-process`` measures the relay layer alone, without sockets or the event loop's wake-ups: each body is
fed from memory, one upstream event per chunk, through the same functions the adapters chain (a streamed
``httpx.Response``, ``iter_body`` and the provider's stream code); it is precise enough to compare commits.
With the code from before the relay rework on ``PYTHONPATH`` it runs that code's equivalent chain instead (the
governor's ``SSEUsage`` re-scan included), which is how the before/after numbers were taken.

Usage: ``.venv/bin/python bench/stream_relay.py [--events 1000] [--streams 3] [--providers floor,openai]``
       ``.venv/bin/python bench/stream_relay.py --in-process --events 20000``
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _procs import free_port

SSE = "text/event-stream"
EVENTSTREAM = "application/vnd.amazon.eventstream"
TEXT = "lorem ipsum "  # a typical streamed token or two


# -- the fake upstream (runs in its own process) ---------------------------------------------------------------


def _sse(event: str | None, data: dict[str, Any]) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + orjson.dumps(data) + b"\n\n"


def anthropic_events(count: int) -> list[bytes]:
    message = {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "claude-bench",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 1},
    }
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": TEXT}}
    return [
        _sse("message_start", {"type": "message_start", "message": message}),
        _sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}}),
        *[_sse("content_block_delta", delta)] * count,
        _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _sse(
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": count}},
        ),
        _sse("message_stop", {"type": "message_stop"}),
    ]


def openai_events(count: int) -> list[bytes]:
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": "gpt-bench"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return _sse(None, {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    usage = {"prompt_tokens": 12, "completion_tokens": count, "total_tokens": 12 + count}
    return [
        chunk({"role": "assistant", "content": ""}),
        *[chunk({"content": TEXT})] * count,
        chunk({}, "stop"),
        _sse(None, {**base, "choices": [], "usage": usage}),
        b"data: [DONE]\n\n",
    ]


def gemini_events(count: int) -> list[bytes]:
    def chunk(finish: str | None = None, output: int = 0) -> bytes:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": TEXT}]}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        usage = {"promptTokenCount": 12, "candidatesTokenCount": output, "totalTokenCount": 12 + output}
        body = {"candidates": [candidate], "usageMetadata": usage, "modelVersion": "gemini-bench"}
        return b"data: " + orjson.dumps(body) + b"\r\n\r\n"

    return [*[chunk()] * (count - 1), chunk("STOP", count)]


def bedrock_events(count: int) -> list[bytes]:
    from finops.emulators.bedrock.eventstream import chunk_frame

    message = {
        "id": "msg_bdrk_bench",
        "type": "message",
        "role": "assistant",
        "model": "claude-bench",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 1},
    }
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": TEXT}}
    return [
        chunk_frame({"type": "message_start", "message": message}),
        chunk_frame({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        *[chunk_frame(delta)] * count,
        chunk_frame({"type": "content_block_stop", "index": 0}),
        chunk_frame({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": count}}),
        chunk_frame({"type": "message_stop"}),
    ]


ROUTES = [
    (re.compile(rb"^POST /v1/messages "), SSE, anthropic_events),
    (re.compile(rb"^POST /v1/chat/completions "), SSE, openai_events),
    (re.compile(rb"^POST \S+:streamGenerateContent"), SSE, gemini_events),
    (re.compile(rb"^POST \S+/invoke-with-response-stream "), EVENTSTREAM, bedrock_events),
]


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, count: int, gap: float) -> None:
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    bodies = {route.pattern: (kind, make(count)) for route, kind, make in ROUTES}
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        length = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.IGNORECASE)
        await reader.readexactly(int(length.group(1)) if length else 0)
        route = next((r for r, _, _ in ROUTES if r.search(head)), None)
        if route is None:
            writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
            continue
        kind, events = bodies[route.pattern]
        writer.write(f"HTTP/1.1 200 OK\r\ncontent-type: {kind}\r\ntransfer-encoding: chunked\r\n\r\n".encode())
        for event in events:
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
            await writer.drain()
            await asyncio.sleep(gap)
        writer.write(b"0\r\n\r\n")
        await writer.drain()


async def serve(port: int, count: int, gap: float) -> None:
    server = await asyncio.start_server(lambda r, w: _answer(r, w, count, gap), "127.0.0.1", port)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()


# -- the gateway side (this process) ----------------------------------------------------------------------------

BODIES: dict[str, dict[str, Any]] = {
    "floor": {},
    "anthropic": {"model": "claude-bench", "max_tokens": 4096},
    "openai": {"model": "gpt-bench", "max_tokens": 4096},
    "gemini": {"model": "gemini-bench", "max_tokens": 4096},
    "bedrock": {"model": "anthropic.claude-3-5-sonnet-20240620-v1:0", "max_tokens": 4096},
}


def _provider(name: str, upstream: str) -> Any:
    from finops.config import ProviderSettings
    from finops.providers.registry import ADAPTERS

    module, _, attribute = ADAPTERS[name].partition(":")
    base_url = {"openai": f"{upstream}/v1"}.get(name, upstream)
    fields: dict[str, Any] = {"api_key": "bench-key", "base_url": base_url}
    if name == "bedrock":
        fields = {"base_url": upstream, "region": "us-east-1", "access_key_id": "AKIABENCH", "secret_access_key": "x"}
    return getattr(importlib.import_module(module), attribute)(ProviderSettings(**fields))


def _context() -> Any:
    try:
        from finops.core.types import CallContext
    except ImportError:  # before the relay rework, the context lived with the providers
        from finops.providers.base import CallContext  # type: ignore[attr-defined,no-redef]
    return CallContext(request_id="req_bench")


async def _one_stream(provider: Any, name: str) -> tuple[int, Any]:
    body = {**BODIES[name], "messages": [{"role": "user", "content": "go"}], "stream": True}
    stream = provider.stream_message(body, _context())
    sniffer = None
    if not hasattr(stream, "usage") and name != "floor":
        # Before the relay rework the governor re-scanned every frame for the usage.
        from finops.governance.sse_usage import SSEUsage  # type: ignore[import-not-found]

        sniffer = SSEUsage()
    size = 0
    async for frame in stream:
        size += len(frame)
        if sniffer is not None:
            sniffer.feed(frame)
    usage = sniffer.usage if sniffer is not None else getattr(stream, "usage", None)
    return size, usage


class _Floor(asyncio.Protocol):
    """The floor: the same Anthropic stream read from a bare socket, each chunk dropped as it arrives."""

    def __init__(self) -> None:
        self.done = asyncio.get_running_loop().create_future()
        self.size = 0
        self.tail = b""

    def data_received(self, data: bytes) -> None:
        self.size += len(data)
        self.tail = (self.tail + data)[-7:]
        if self.tail == b"\r\n0\r\n\r\n" and not self.done.done():
            self.done.set_result(None)


class _FloorProvider:
    def __init__(self, upstream: str) -> None:
        self.port = int(upstream.rsplit(":", 1)[1])

    def stream_message(self, body: Any, ctx: Any) -> Any:
        return self._read()

    async def _read(self) -> Any:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_connection(_Floor, "127.0.0.1", self.port)
        transport.write(b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n")
        await protocol.done
        transport.close()
        yield b"x" * protocol.size

    async def aclose(self) -> None:
        return None


async def measure(name: str, upstream: str, streams: int, events: int) -> dict[str, Any]:
    provider = _FloorProvider(upstream) if name == "floor" else _provider(name, upstream)
    try:
        await _one_stream(provider, name)  # warm-up: connection, imports, caches
        cpu = time.process_time()
        wall = time.perf_counter()
        for _ in range(streams):
            size, usage = await _one_stream(provider, name)
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - wall
    finally:
        await provider.aclose()
    return {
        "provider": name,
        "events": streams * events,
        "cpu_us_per_event": round(cpu / (streams * events) * 1e6, 2),
        "wall_s": round(wall, 2),
        "bytes_per_stream": size,
        "final_usage": usage,
    }


# -- in-process: the relay layer alone ---------------------------------------------------------------------------


async def _from_memory(chunks: list[bytes]) -> Any:
    for chunk in chunks:
        yield chunk


def _streamed(content_type: str, chunks: list[bytes]) -> Any:
    import httpx

    return httpx.Response(200, headers={"content-type": content_type}, content=_from_memory(chunks))


def _chain_after(name: str, chunks: list[bytes]) -> Any:
    """The chain the adapters build now (``finops.providers.relay``)."""
    from finops.providers.relay import relay_events, relay_sse
    from finops.providers.upstream_errors import ErrorPolicy

    errors = ErrorPolicy(name, ["bench-key"])
    if name == "anthropic":

        async def open_response() -> Any:
            return _streamed(SSE, chunks)

        return relay_sse(errors, open_response)
    if name == "openai":
        from finops.providers.openai.sse import chat_events
        from finops.providers.openai.stream import ChatStreamTranslator

        async def open_chat() -> Any:
            return _streamed(SSE, chunks)

        source = chat_events(open_chat, ChatStreamTranslator(model="gpt-bench"), name)
    else:
        from finops.providers.gemini.stream import GenerateStreamTranslator, generate_events

        async def open_generate() -> Any:
            return _streamed(SSE, chunks)

        source = generate_events(open_generate, GenerateStreamTranslator(model="gemini-bench"), name)
    return relay_events(errors, source)


async def _chain_before(name: str, chunks: list[bytes]) -> Any:
    """The same chain before the relay rework: the adapters' own loops, then the governor's ``SSEUsage``."""
    from finops.governance.sse_usage import SSEUsage  # type: ignore[import-not-found]

    from finops.providers.http import iter_body, iter_lines

    response = _streamed(SSE, chunks)
    if name == "anthropic":
        frames = iter_body(response, name)
    elif name == "openai":
        from finops.providers.openai.sse import relay_chat_stream  # type: ignore[attr-defined]
        from finops.providers.openai.stream import ChatStreamTranslator

        frames = relay_chat_stream(iter_lines(response, name), ChatStreamTranslator(model="gpt-bench"))
    else:
        frames = _gemini_before(iter_lines(response, name))
    sniffer = SSEUsage()
    async for frame in frames:
        sniffer.feed(frame)
        yield frame


async def _gemini_before(lines: Any) -> Any:
    from finops.providers.gemini.adapter import _PING, _sse_data  # type: ignore[attr-defined]
    from finops.providers.gemini.stream import GenerateStreamTranslator
    from finops.providers.sse import encode_sse

    translator = GenerateStreamTranslator(model="gemini-bench")
    async for data in _sse_data(lines):
        for event, payload in translator.feed(orjson.loads(data)):
            yield encode_sse(event, payload)
            if event == "message_start":
                yield _PING
    for event, payload in translator.finish():
        yield encode_sse(event, payload)


async def measure_in_process(name: str, events: int, streams: int) -> dict[str, Any]:
    chunks = {"anthropic": anthropic_events, "openai": openai_events, "gemini": gemini_events}[name](events)
    try:
        import finops.governance.sse_usage  # noqa: F401

        chain, code = _chain_before, "before"
    except ImportError:
        chain, code = _chain_after, "after"

    async def one() -> int:
        return sum([len(frame) async for frame in chain(name, chunks)])

    await one()
    cpu = time.process_time()
    for _ in range(streams):
        size = await one()
    cpu = time.process_time() - cpu
    per_event = cpu / (streams * events) * 1e6
    return {
        "provider": name,
        "code": code,
        "events": streams * events,
        "cpu_us_per_event": round(per_event, 2),
        "bytes_per_stream": size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--streams", type=int, default=3)
    parser.add_argument("--gap-us", type=int, default=1000)
    parser.add_argument("--providers", default="floor,anthropic,openai,gemini,bedrock")
    parser.add_argument("--in-process", action="store_true", help="the relay layer alone, bodies from memory")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:
        for name in ("anthropic", "openai", "gemini"):
            print(json.dumps(uvloop.run(measure_in_process(name, args.events, args.streams))), flush=True)
        return
    if args.serve:
        uvloop.run(serve(args.serve, args.events, args.gap_us / 1e6))
        return
    port = free_port()
    command = [sys.executable, __file__, "--serve", str(port), "--events", str(args.events), "--gap-us"]
    upstream = subprocess.Popen([*command, str(args.gap_us)])
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        for name in args.providers.split(","):
            result = uvloop.run(measure(name, f"http://127.0.0.1:{port}", args.streams, args.events))
            print(json.dumps(result), flush=True)
    finally:
        upstream.send_signal(signal.SIGTERM)
        upstream.wait(timeout=10)


if __name__ == "__main__":
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    main()
