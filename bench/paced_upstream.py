"""A paced SSE upstream for stream benchmarks: every streamed answer sends its first event after ``--first-ms``,
then one event every ``--interval-ms``, ``--events`` events in all, the way an LLM streams tokens.

Raw asyncio (uvloop) protocol, HTTP/1.1 keep-alive, ``TCP_NODELAY``, chunked bodies (one chunk per event, as real
providers send them). Each event is written at its own absolute time (``loop.call_at``), so a late tick does not
push the rest of the stream later. Event payloads are built once at start-up.

* ``POST /v1/chat/completions``  OpenAI ``chat.completion.chunk`` events: ``{"content": "w<k> "}`` for k = 0..N-1,
  the last followed at once by the finish chunk, the ``include_usage`` chunk and ``data: [DONE]``.
* ``POST /v1/messages``          Anthropic events: ``message_start`` + ``content_block_start`` with the first
  ``text_delta`` ("w0 "), then one ``text_delta`` per event, the last followed at once by ``content_block_stop``,
  ``message_delta`` (usage) and ``message_stop``.
* ``POST /v1beta/models/gemini-bench:streamGenerateContent`` (``?alt=sse``)  Gemini ``GenerateContentResponse``
  events: one text part ``"w<k> "`` each, the last with ``finishReason: STOP``; usage on every event.
* ``POST /model/<any model>/converse-stream``  Bedrock ConverseStream, an AWS event stream (binary frames, CRCs):
  ``messageStart`` with the first ``contentBlockDelta`` ("w0 "), then one delta per event, the last followed at
  once by ``contentBlockStop``, ``messageStop`` and ``metadata`` (usage). Authentication is not checked.
* ``GET  /health``               200

Any request on the streaming paths gets a stream (the body is not parsed): this upstream exists to be cheap.
Usage: ``python bench/paced_upstream.py --port 9200 [--first-ms 200 --interval-ms 250 --events 40]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import socket
from typing import Any

HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n"
)
EVENTSTREAM_HEAD = HEAD.replace(b"text/event-stream", b"application/vnd.amazon.eventstream")
HEALTH = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n{"status":"ok"}'
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 9\r\n\r\nno route\n"
END_OF_BODY = b"0\r\n\r\n"
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
INPUT_TOKENS = 12
GEMINI_PATH = b"/v1beta/models/gemini-bench:streamGenerateContent"


def _chunk(payload: str) -> bytes:
    data = payload.encode()
    return b"%x\r\n%s\r\n" % (len(data), data)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def openai_events(count: int) -> list[bytes]:
    base = {"id": "chatcmpl-paced", "object": "chat.completion.chunk", "created": 1700000000, "model": "gpt-bench"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return f"data: {_dumps({**base, 'choices': [{'index': 0, 'delta': delta, 'finish_reason': finish}]})}\n\n"

    events = []
    for k in range(count):
        delta: dict[str, Any] = {"content": f"w{k} "}
        if k == 0:
            delta = {"role": "assistant", **delta}
        payload = chunk(delta)
        if k == count - 1:
            usage = {"prompt_tokens": INPUT_TOKENS, "completion_tokens": count, "total_tokens": INPUT_TOKENS + count}
            payload += chunk({}, "stop")
            payload += f"data: {_dumps({**base, 'choices': [], 'usage': usage})}\n\n"
            payload += "data: [DONE]\n\n"
        events.append(_chunk(payload) + (END_OF_BODY if k == count - 1 else b""))
    return events


def anthropic_events(count: int) -> list[bytes]:
    def event(name: str, data: dict[str, Any]) -> str:
        return f"event: {name}\ndata: {_dumps({'type': name, **data})}\n\n"

    def delta(k: int) -> str:
        return event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": f"w{k} "}})

    message = {
        "id": "msg_paced0000000000000000",
        "type": "message",
        "role": "assistant",
        "model": "claude-bench",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": 1},
    }
    events = []
    for k in range(count):
        payload = delta(k)
        if k == 0:
            payload = (
                event("message_start", {"message": message})
                + event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
                + payload
            )
        if k == count - 1:
            payload += event("content_block_stop", {"index": 0})
            payload += event(
                "message_delta",
                {"delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": count}},
            )
            payload += event("message_stop", {})
        events.append(_chunk(payload) + (END_OF_BODY if k == count - 1 else b""))
    return events


def gemini_events(count: int) -> list[bytes]:
    events = []
    for k in range(count):
        candidate: dict[str, Any] = {"content": {"parts": [{"text": f"w{k} "}], "role": "model"}, "index": 0}
        if k == count - 1:
            candidate["finishReason"] = "STOP"
        usage = {
            "promptTokenCount": INPUT_TOKENS,
            "candidatesTokenCount": k + 1,
            "totalTokenCount": INPUT_TOKENS + k + 1,
        }
        payload = {"candidates": [candidate], "usageMetadata": usage, "modelVersion": "gemini-bench"}
        events.append(_chunk(f"data: {_dumps(payload)}\r\n\r\n") + (END_OF_BODY if k == count - 1 else b""))
    return events


def converse_events(count: int) -> list[bytes]:
    from finops.emulators.bedrock.eventstream import event_frame  # the emulator's frame encoder (CRCs)

    events = []
    for k in range(count):
        frames = [event_frame("messageStart", {"role": "assistant"})] if k == 0 else []
        frames.append(event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": f"w{k} "}}))
        if k == count - 1:
            usage = {"inputTokens": INPUT_TOKENS, "outputTokens": count, "totalTokens": INPUT_TOKENS + count}
            frames.append(event_frame("contentBlockStop", {"contentBlockIndex": 0}))
            frames.append(event_frame("messageStop", {"stopReason": "end_turn"}))
            frames.append(event_frame("metadata", {"usage": usage, "metrics": {"latencyMs": 1}}))
        data = b"".join(frames)
        events.append(b"%x\r\n%s\r\n" % (len(data), data) + (END_OF_BODY if k == count - 1 else b""))
    return events


class Pacing:
    def __init__(self, first: float, interval: float, events: int) -> None:
        self.first, self.interval = first, interval
        self.streams = {
            b"/v1/chat/completions": openai_events(events),
            b"/v1/messages": anthropic_events(events),
            GEMINI_PATH: gemini_events(events),
        }
        self.converse = converse_events(events)


class PacedProtocol(asyncio.Protocol):
    """One connection: requests one after another (a new one is read once the current stream has ended)."""

    def __init__(self, pacing: Pacing) -> None:
        self.pacing = pacing
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.events: list[bytes] | None = None
        self.next_event = 0
        self.started = 0.0
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.events is None:
            self._next_request()

    def _next_request(self) -> None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.transport is None:
            return
        match = _CONTENT_LENGTH.search(self.buffer, 0, end + 2)
        total = end + 4 + (int(match.group(1)) if match else 0)
        if len(self.buffer) < total:
            return
        head, self.buffer = self.buffer[:end], self.buffer[total:]
        parts = head.split(b"\r\n", 1)[0].split(b" ")
        path = parts[1].split(b"?", 1)[0] if len(parts) > 1 else b"/"
        if path == b"/health":
            self.transport.write(HEALTH)
            self._next_request()
            return
        events = self.pacing.streams.get(path)
        head = HEAD
        if events is None and path.startswith(b"/model/") and path.endswith(b"/converse-stream"):
            events, head = self.pacing.converse, EVENTSTREAM_HEAD
        if events is None:
            self.transport.write(NOT_FOUND)
            self._next_request()
            return
        self.transport.write(head)
        self.events, self.next_event = events, 0
        self.started = self.loop.time()
        self.timer = self.loop.call_at(self.started + self.pacing.first, self._tick)

    def _tick(self) -> None:
        self.timer = None
        if self.transport is None or self.events is None:
            return
        self.transport.write(self.events[self.next_event])
        self.next_event += 1
        if self.next_event < len(self.events):
            due = self.started + self.pacing.first + self.next_event * self.pacing.interval
            self.timer = self.loop.call_at(due, self._tick)
            return
        self.events = None
        self._next_request()


async def serve(host: str, port: int, pacing: Pacing) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: PacedProtocol(pacing), host, port, backlog=8192, reuse_address=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"paced upstream ready on {host}:{port}", flush=True)
    async with server:
        await stop.wait()


def raise_open_file_limit() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--first-ms", type=float, default=200.0, help="delay before the first event")
    parser.add_argument("--interval-ms", type=float, default=250.0, help="delay between events")
    parser.add_argument("--events", type=int, default=40, help="events per stream")
    args = parser.parse_args()
    raise_open_file_limit()
    pacing = Pacing(args.first_ms / 1000, args.interval_ms / 1000, args.events)
    try:
        import uvloop

        uvloop.run(serve(args.host, args.port, pacing))
    except ImportError:
        asyncio.run(serve(args.host, args.port, pacing))


if __name__ == "__main__":
    main()
