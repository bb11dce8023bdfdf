"""What a streamed event costs in the layers under FinOps: minimal relays against FinOps, same paced upstream and
load, same run: ``.venv/bin/python bench/relay_floor.py [--streams 1000] [--events 160] [--interval-ms 62.5]``.

Each target is a process of its own on core 0 (upstream and load generator on core 1, as in ``bench/streams.py``);
CPU per event is the target's user + system time over the level / deltas delivered in complete streams, and CPU
per stream the same time over the streams completed (run it with ``--events 2 --first-ms 20 --interval-ms 20`` to
see per-stream costs). The targets, from the floor up:

* ``push``: a raw uvloop protocol; the upstream response is read by an ``httptools`` protocol whose ``on_body``
  writes each piece to the client's transport at once: no task, no future, no generator per event;
* ``push-translated``: ``push`` with FinOps' OpenAI stream translation in ``on_body`` (the SSE decoder, the
  translator and each event's SSE encoding), Anthropic SSE out: what a pushed translated event costs before
  FinOps' own layers (pool, receiver, relay, governor, channel);
* ``pull``: the same server, but a task per stream pulls the body through FinOps' upstream pool
  (``UpstreamClient``, ``PoolTransport``) with ``async for`` and writes it: the pull design's own cost;
* ``asgi``: that pull relay as a bare ASGI app under uvicorn (httptools, uvloop);
* ``asgi-translated``: ``asgi`` with FinOps' OpenAI stream translation (``chat_events`` + ``relay_events``),
  Anthropic SSE out: everything FinOps does per event except the governor, Starlette and its middleware;
* ``finops``: ``finops serve`` (SQLite), the translated ``/anthropic/v1/messages``.

The relays here pass on whatever the upstream sends and check nothing: they exist to measure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from _procs import Processes, cpu_split, free_port, wait_ready  # noqa: E402

ROOT = BENCH.parent
VENV_PY = ROOT / ".venv" / "bin" / "python"
FINOPS = ROOT / ".venv" / "bin" / "finops"
MODES = ("push", "push-translated", "pull", "asgi", "asgi-translated", "finops")
UPSTREAM_BODY = b'{"model":"gpt-bench","stream":true,"messages":[]}'
HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
_CONTENT_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


# -- the minimal relays (``--serve MODE``) --------------------------------------------------------------------


def serve(mode: str, port: int, upstream: int) -> None:
    import httpx
    import orjson
    import uvloop

    from finops import gc_policy
    from finops.providers.client import UpstreamClient
    from finops.providers.openai.sse import chat_events
    from finops.providers.openai.stream import ChatStreamTranslator
    from finops.providers.openai.translate import openai_fault
    from finops.providers.relay import relay_events
    from finops.providers.sse import SSEDecoder, encode_sse
    from finops.providers.upstream_errors import ErrorPolicy

    # The serving process's GC policy, as ``finops serve`` applies it: without it the collector walks every
    # imported module's objects again and again, and that, not the relay, is what would be measured.
    gc_policy.settle()

    clients: list[UpstreamClient] = []
    tasks: set[asyncio.Task[None]] = set()  # referenced until done (the loop keeps only weak references)

    def spawn(work: Any) -> None:
        task = asyncio.ensure_future(work)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def client() -> UpstreamClient:
        if not clients:
            limits = httpx.Limits(max_connections=20_000, max_keepalive_connections=20_000)
            clients.append(UpstreamClient(f"http://127.0.0.1:{upstream}/v1", timeout=httpx.Timeout(60), limits=limits))
        return clients[0]

    async def open_upstream() -> httpx.Response:
        request = client().build_request(
            "POST", "/chat/completions", content=UPSTREAM_BODY, headers={"content-type": "application/json"}
        )
        return await client().send(request, stream=True)

    class Server(asyncio.Protocol):
        """HTTP/1.1 keep-alive server that answers every request with ``relay``."""

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: Any = transport
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            head, found, rest = self.buffer.partition(b"\r\n\r\n")
            if not found:
                return
            length_match = _CONTENT_LENGTH.search(head)
            length = int(length_match.group(1)) if length_match else 0
            if len(rest) >= length:
                self.buffer = rest[length:]
                self.transport.write(HEAD)
                self.relay()

        def relay(self) -> None:
            spawn(self.pull())

        async def pull(self) -> None:
            response = await open_upstream()
            async for chunk in response.stream:
                self.transport.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await response.aclose()
            self.transport.write(b"0\r\n\r\n")

    import httptools

    idle: list[PushUpstream] = []
    request_bytes = (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n%s" % (len(UPSTREAM_BODY), UPSTREAM_BODY)
    )

    class PushUpstream(asyncio.Protocol):
        def __init__(self, client_transport: Any) -> None:
            self.client_transport = client_transport
            self.parser = httptools.HttpResponseParser(self)

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: Any = transport

        def data_received(self, data: bytes) -> None:
            self.parser.feed_data(data)

        def on_body(self, body: bytes) -> None:
            self.client_transport.write(b"%x\r\n%s\r\n" % (len(body), body))

        def on_message_complete(self) -> None:
            self.client_transport.write(b"0\r\n\r\n")
            idle.append(self)

    class TranslatingPushUpstream(PushUpstream):
        def __init__(self, client_transport: Any) -> None:
            super().__init__(client_transport)
            self.renew()

        def renew(self) -> None:
            self.decoder = SSEDecoder()
            self.translator = ChatStreamTranslator(model="gpt-bench")

        def on_body(self, body: bytes) -> None:
            events: list[Any] = []
            for _, data in self.decoder.feed(body):
                if data == b"[DONE]":
                    events += self.translator.finish()
                    break
                events += self.translator.feed(orjson.loads(data))
            if events:
                frame = b"".join([encode_sse(name, event) for name, event in events])
                self.client_transport.write(b"%x\r\n%s\r\n" % (len(frame), frame))

    upstream_protocol = TranslatingPushUpstream if mode == "push-translated" else PushUpstream

    class PushServer(Server):
        def relay(self) -> None:
            if idle:
                upstream_connection = idle.pop()
                upstream_connection.client_transport = self.transport
                upstream_connection.parser = httptools.HttpResponseParser(upstream_connection)
                if isinstance(upstream_connection, TranslatingPushUpstream):
                    upstream_connection.renew()
                upstream_connection.transport.write(request_bytes)
            else:
                spawn(self.connect())

        async def connect(self) -> None:
            loop = asyncio.get_running_loop()
            _, connection = await loop.create_connection(
                lambda: upstream_protocol(self.transport), "127.0.0.1", upstream
            )
            connection.transport.write(request_bytes)

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                gc_policy.Sweeper().start()
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        while (await receive()).get("more_body"):
            pass
        if mode == "asgi":
            response = await open_upstream()
            frames: Any = response.stream
        else:
            translator = ChatStreamTranslator(model="gpt-bench")
            frames = relay_events(
                ErrorPolicy("openai", [], openai_fault), chat_events(open_upstream, translator, "openai")
            )
        iterator = aiter(frames)
        first = await anext(iterator)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        await send({"type": "http.response.body", "body": first, "more_body": True})
        async for frame in iterator:
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    if mode.startswith("asgi"):
        import uvicorn

        uvicorn.run(
            asgi, host="127.0.0.1", port=port, log_level="warning", http="httptools", loop="uvloop", backlog=4096
        )
        return

    async def main() -> None:
        loop = asyncio.get_running_loop()
        gc_policy.Sweeper().start()
        protocol = PushServer if mode.startswith("push") else Server
        server = await loop.create_server(protocol, "127.0.0.1", port, backlog=4096)
        print(f"{mode} relay ready on {port}", flush=True)
        await server.serve_forever()

    uvloop.run(main())


# -- the run ----------------------------------------------------------------------------------------------------


def load(
    port: int, path: str, headers: dict[str, str], body_file: Path, streams: int, args: argparse.Namespace, **over: Any
) -> dict[str, Any]:
    argv = ["taskset", "-c", "1", str(VENV_PY), str(BENCH / "stream_load.py"), "--port", str(port), "--path", path]
    argv += ["--body-file", str(body_file), "--streams", str(streams), "--ramp", str(over.get("ramp", args.ramp))]
    argv += ["--hold", str(over.get("hold", args.hold)), "--events", str(args.events), "--first-ms", str(args.first_ms)]
    argv += ["--interval-ms", str(args.interval_ms), "--timeout-extra", "30"]
    for key, value in headers.items():
        argv += ["--header", f"{key}: {value}"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=args.ramp + args.hold + 300, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"stream_load failed: {out.stderr[-800:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def start(
    procs: Processes, mode: str, work: Path, upstream: int
) -> tuple[subprocess.Popen[bytes], int, str, dict[str, str]]:
    port = free_port()
    if mode == "finops":
        config = work / "finops.yaml"
        config.write_text(
            "server: {host: 127.0.0.1}\n"
            f"database: {{url: 'sqlite+aiosqlite:///{work / 'finops.db'}'}}\n"
            f"providers:\n  openai: {{api_key: bench-openai-key, base_url: 'http://127.0.0.1:{upstream}/v1', "
            "max_connections: 20000}\n",
            encoding="utf-8",
        )
        proc = procs.start(
            mode,
            [str(FINOPS), "serve", "--config", str(config), "--port", str(port)],
            core="0",
            log=work / "finops.log",
        )
        wait_ready(proc, port, "/health", time.perf_counter(), 60)
        headers = {
            "content-type": "application/json",
            "x-api-key": "bench",
            "anthropic-version": "2023-06-01",
            "x-model-provider": "openai",
        }
        return proc, port, "/anthropic/v1/messages", headers
    argv = [str(VENV_PY), str(Path(__file__)), "--serve", mode, "--port", str(port), "--upstream", str(upstream)]
    proc = procs.start(mode, argv, core="0", log=work / f"{mode}.log")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            import socket

            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.1)
    return proc, port, "/v1/chat/completions", {"content-type": "application/json"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--ramp", type=float, default=5.0)
    parser.add_argument("--hold", type=float, default=10.0)
    parser.add_argument("--events", type=int, default=160)
    parser.add_argument("--first-ms", type=float, default=200.0)
    parser.add_argument("--interval-ms", type=float, default=62.5)
    parser.add_argument("--serve", choices=MODES[:-1], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--upstream", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.upstream)
        return

    procs = Processes()
    work = Path(tempfile.mkdtemp(prefix="finops-relay-floor-"))
    upstream = free_port()
    paced = [str(VENV_PY), str(BENCH / "paced_upstream.py"), "--port", str(upstream), "--first-ms", str(args.first_ms)]
    paced += ["--interval-ms", str(args.interval_ms), "--events", str(args.events)]
    upstream_proc = procs.start("upstream", paced, core="1", log=work / "upstream.log")
    try:
        wait_ready(upstream_proc, upstream, "/health", time.perf_counter(), 30)
        print(
            "| target | completed / failed | first event p99 ms | gap p99 ms | CPU µs / event | of it in the kernel "
            "| CPU µs / stream |"
        )
        print("|---|---|--:|--:|--:|--:|--:|")
        for mode in args.modes.split(","):
            proc, port, path, headers = start(procs, mode, work, upstream)
            try:
                body = {
                    "model": "gpt-bench",
                    "max_tokens": 256,
                    "stream": True,
                    "messages": [{"role": "user", "content": "x"}],
                }
                body_file = work / "body.json"
                body_file.write_text(json.dumps(body), encoding="utf-8")
                load(port, path, headers, body_file, 20, args, ramp=0.2, hold=0)  # imports, pools
                user_before, system_before = cpu_split(proc.pid)
                result = load(port, path, headers, body_file, args.streams, args)
                user_after, system_after = cpu_split(proc.pid)
                user, system = user_after - user_before, system_after - system_before
                events, completed = result["events"], result["completed"]
                per_event = (user + system) / events * 1e6 if events else float("nan")
                kernel = system / events * 1e6 if events else float("nan")
                per_stream = (user + system) / completed * 1e6 if completed else float("nan")
                print(
                    f"| {mode} | {completed:,} / {result['failed']} | {result['ttfe_p99_ms']} "
                    f"| {result['gap_p99_ms']} | {per_event:.1f} | {kernel:.1f} | {per_stream:.0f} |",
                    flush=True,
                )
            finally:
                procs.stop(proc, timeout=20)
    finally:
        procs.stop(upstream_proc)


if __name__ == "__main__":
    main()
