"""A fast fake LLM upstream for benchmarks: raw asyncio (uvloop) protocol, fixed responses, one write each.

Serves, with HTTP/1.1 keep-alive and TCP_NODELAY:

* ``POST /v1/messages``            Anthropic JSON, or SSE when the body asks for ``"stream": true``
* ``POST /v1/chat/completions``    OpenAI JSON, or SSE (with the ``include_usage`` chunk) when streaming
* ``GET  /health``                 200

Usage: ``python bench/upstream.py --port 9100`` (runs until SIGTERM / SIGINT).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import socket

ANTHROPIC_MESSAGE = {
    "id": "msg_bench0000000000000000",
    "type": "message",
    "role": "assistant",
    "model": "claude-bench",
    "content": [{"type": "text", "text": "Hello from the bench upstream."}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 12, "output_tokens": 8},
}

OPENAI_COMPLETION = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-bench",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello from the bench upstream."},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20},
}


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def anthropic_sse() -> bytes:
    start = {**ANTHROPIC_MESSAGE, "content": [], "stop_reason": None, "usage": {"input_tokens": 12, "output_tokens": 1}}
    frames = [
        _sse("message_start", {"type": "message_start", "message": start}),
        _sse(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        _sse(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello from "}},
        ),
        _sse(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "the bench upstream."}},
        ),
        _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 8},
            },
        ),
        _sse("message_stop", {"type": "message_stop"}),
    ]
    return "".join(frames).encode()


def openai_sse() -> bytes:
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": "gpt-bench"}

    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hello from "}),
        chunk({"content": "the bench upstream."}),
        chunk({}, "stop"),
        {**base, "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20}},
    ]
    lines = [f"data: {json.dumps(c, separators=(',', ':'))}\n\n" for c in chunks]
    lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


def _response(status: str, content_type: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
        "connection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


def _dumps(obj: dict) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


RESPONSES = {
    ("/v1/messages", False): _response("200 OK", "application/json", _dumps(ANTHROPIC_MESSAGE)),
    ("/v1/messages", True): _response("200 OK", "text/event-stream", anthropic_sse()),
    ("/v1/chat/completions", False): _response("200 OK", "application/json", _dumps(OPENAI_COMPLETION)),
    ("/v1/chat/completions", True): _response("200 OK", "text/event-stream", openai_sse()),
}
HEALTH = _response("200 OK", "application/json", b'{"status":"ok"}')
NOT_FOUND = _response(
    "404 Not Found", "application/json", b'{"type":"error","error":{"type":"not_found_error","message":"no route"}}'
)
_STREAM = re.compile(rb'"stream"\s*:\s*true')
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


class UpstreamProtocol(asyncio.Protocol):
    __slots__ = ("buffer", "transport")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            match = _CONTENT_LENGTH.search(buffer, 0, end + 2)
            length = int(match.group(1)) if match else 0
            total = end + 4 + length
            if len(buffer) < total:
                break
            head, body = buffer[:end], buffer[end + 4 : total]
            buffer = buffer[total:]
            line_end = head.find(b"\r\n")
            parts = head[: line_end if line_end >= 0 else len(head)].split(b" ")
            path = parts[1].split(b"?", 1)[0].decode() if len(parts) > 1 else "/"
            if path == "/health":
                self.transport.write(HEALTH)
                continue
            response = RESPONSES.get((path, bool(_STREAM.search(body))))
            self.transport.write(response if response is not None else NOT_FOUND)
        self.buffer = buffer


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(UpstreamProtocol, host, port, backlog=4096, reuse_address=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"upstream ready on {host}:{port}", flush=True)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(serve(args.host, args.port))
    except ImportError:
        asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
