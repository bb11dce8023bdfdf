"""What one open stream and one relayed event cost inside the gateway, counted rather than timed:
``.venv/bin/python bench/stream_costs.py [--streams 500] [--scenario translated|passthrough]``.

Runs the paced upstream, the gateway app (``finops.serving.build_app`` under ``uvicorn.Server``) and the stream
clients (``bench/stream_load.py``'s protocol) in one process and one event loop, so that with K streams open
mid-answer it can look inside:

* asyncio tasks per open stream (``asyncio.all_tasks()`` with K open minus idle);
* Python memory per open stream by allocation site (``tracemalloc`` snapshot with K open minus one taken before
  the streams, grouped by file; the load side's own files are listed apart). uvloop's and the kernel's socket
  buffers are not Python allocations and do not show here; ``bench/streams.py`` gives the whole RSS;
* calls per relayed event (``cProfile`` over a window of the steady state: each function's call count divided by
  the deltas the clients received in that window), which names the per-event JSON parses and dumps, SSE frames,
  ASGI sends and awaits.

No timing figure from here is meaningful (tracemalloc and cProfile slow everything down); counts are.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import pstats
import socket
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import uvicorn  # noqa: E402

from finops.config import parse_settings  # noqa: E402
from finops.serving import build_app  # noqa: E402
from paced_upstream import PacedProtocol, Pacing  # noqa: E402
from stream_load import LoadGenerator, build_request  # noqa: E402

LOAD_SIDE = ("paced_upstream.py", "stream_load.py", "stream_costs.py", "tracemalloc.py", "cProfile", "pstats")


def listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def load_args(port: int, streams: int, scenario: str, body_file: Path, args: argparse.Namespace) -> argparse.Namespace:
    provider = "openai" if scenario == "translated" else "anthropic"
    return argparse.Namespace(
        host="127.0.0.1",
        port=port,
        path="/anthropic/v1/messages",
        body_file=str(body_file),
        header=["content-type: application/json", "x-api-key: bench", f"x-model-provider: {provider}"],
        streams=streams,
        ramp=args.ramp,
        hold=0.0,
        events=args.events,
        first_ms=args.first_ms,
        interval_ms=args.interval_ms,
        timeout_extra=30.0,
    )


def site(frame_file: str) -> str:
    parts = Path(frame_file).parts
    for anchor in ("site-packages", "src"):
        if anchor in parts:
            rest = parts[parts.index(anchor) + 1 :]
            return "/".join(rest[:3]) if rest and rest[0] == "finops" else "/".join(rest[:2])
    return "/".join(parts[-2:])


async def main_async(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    upstream_sock = listening_socket()
    pacing = Pacing(args.first_ms / 1000, args.interval_ms / 1000, args.events)
    upstream = await loop.create_server(lambda: PacedProtocol(pacing), sock=upstream_sock, backlog=8192)
    up_port = upstream_sock.getsockname()[1]
    settings = parse_settings(
        {
            "database": {"url": f"sqlite+aiosqlite:///{work / 'costs.db'}"},
            "providers": {
                "anthropic": {"api_key": "k", "base_url": f"http://127.0.0.1:{up_port}", "max_connections": 20000},
                "openai": {"api_key": "k", "base_url": f"http://127.0.0.1:{up_port}/v1", "max_connections": 20000},
            },
        }
    )
    gateway_sock = listening_socket()
    config = uvicorn.Config(build_app(settings), log_level="warning", http="httptools", lifespan="on")
    server = uvicorn.Server(config)
    serving = loop.create_task(server.serve(sockets=[gateway_sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    port = gateway_sock.getsockname()[1]
    model = "gpt-bench" if args.scenario == "translated" else "claude-bench"
    body_file = work / "body.json"
    body_file.write_text(
        json.dumps(
            {
                "model": model,
                "max_tokens": 256,
                "stream": True,
                "messages": [{"role": "user", "content": "Stream me forty words."}],
            }
        )
    )

    # Warm-up: imports, pools, caches; then the idle baseline.
    warm = LoadGenerator(
        load_args(port, 20, args.scenario, body_file, args),
        build_request(load_args(port, 20, args.scenario, body_file, args)),
    )
    await warm.run()
    gc.collect()
    idle_tasks = sum(1 for item in gc.get_objects() if isinstance(item, asyncio.Task))
    idle_objects = Counter(type(item).__module__ for item in gc.get_objects())
    # Every cyclic-GC pass during the ramp and the hold, by generation (tracemalloc lengthens them somewhat).
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    gc_started: list[float] = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            pauses[info["generation"]].append((time.perf_counter() - gc_started[0]) * 1000)

    gc.callbacks.append(on_gc)
    tracemalloc.start(1)
    before = tracemalloc.take_snapshot()

    streams_args = load_args(port, args.streams, args.scenario, body_file, args)
    generator = LoadGenerator(streams_args, build_request(streams_args))
    running = loop.create_task(generator.run())
    # Mid-answer: every stream has started and had its first event (the gateway has caught up with the ramp,
    # which tracemalloc slows down), none has ended.
    await asyncio.sleep(args.ramp)
    for _ in range(600):
        if len(generator.stats.ttfe) >= args.streams:
            break
        await asyncio.sleep(0.05)
    open_now = generator.stats.open
    gc.callbacks.remove(on_gc)
    gc.collect()
    tasks_open = sum(1 for item in gc.get_objects() if isinstance(item, asyncio.Task))
    open_objects = Counter(type(item).__module__ for item in gc.get_objects())
    started = time.perf_counter()
    gc.collect()
    full_collection_ms = (time.perf_counter() - started) * 1000
    during = tracemalloc.take_snapshot()
    tracemalloc.stop()

    # Calls per event over a steady window (the clients count every delta they receive in ``lateness``).
    deltas_before = len(generator.stats.lateness)
    profiler = cProfile.Profile()
    profiler.enable()
    await asyncio.sleep(args.window)
    profiler.disable()
    deltas = len(generator.stats.lateness) - deltas_before

    result = await running
    server.should_exit = True
    await serving
    upstream.close()

    by_site: Counter[str] = Counter()
    for stat in during.compare_to(before, "filename"):
        by_site[site(stat.traceback[0].filename)] += stat.size_diff
    gateway_sites = {k: v for k, v in by_site.items() if not any(mark in k for mark in LOAD_SIDE)}
    stats = pstats.Stats(profiler)
    calls: list[tuple[str, float]] = []
    for (filename, line, name), (primitive, _total, *_rest) in stats.stats.items():  # type: ignore[attr-defined]
        if any(mark in filename for mark in LOAD_SIDE):
            continue
        calls.append((f"{name} ({site(filename)}:{line})", primitive / max(deltas, 1)))
    calls.sort(key=lambda item: -item[1])
    return {
        "scenario": args.scenario,
        "streams_open": open_now,
        "streams_with_first_event": len(generator.stats.ttfe),
        "tasks_idle": idle_tasks,
        "tasks_open": tasks_open,
        "tasks_per_stream": round((tasks_open - idle_tasks) / max(open_now, 1), 2),
        "python_bytes_per_stream_gateway": round(sum(gateway_sites.values()) / max(open_now, 1)),
        "python_bytes_per_stream_by_site": {
            k: round(v / max(open_now, 1)) for k, v in sorted(gateway_sites.items(), key=lambda kv: -kv[1])[:20]
        },
        "gc_tracked_objects_per_stream": round(sum((open_objects - idle_objects).values()) / max(open_now, 1), 1),
        "gc_tracked_objects_per_stream_by_module": {
            k: round(v / max(open_now, 1), 1) for k, v in (open_objects - idle_objects).most_common(12)
        },
        "full_gc_collection_ms_with_streams_open": round(full_collection_ms, 1),
        "gc_passes_during_ramp": {
            f"gen{gen}": {"count": len(times), "max_ms": round(max(times, default=0), 1), "total_ms": round(sum(times))}
            for gen, times in pauses.items()
        },
        "deltas_in_window": deltas,
        "calls_per_event": {name: round(count, 2) for name, count in calls[: args.top]},
        "load": {k: result[k] for k in ("completed", "failed", "failures")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--scenario", choices=["translated", "passthrough"], default="translated")
    parser.add_argument("--ramp", type=float, default=2.0)
    parser.add_argument("--first-ms", type=float, default=200.0)
    parser.add_argument("--interval-ms", type=float, default=250.0)
    parser.add_argument("--events", type=int, default=200, help="long enough that no stream ends while measured")
    parser.add_argument("--window", type=float, default=2.0, help="seconds of cProfile in the steady state")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    import tempfile

    import uvloop

    with tempfile.TemporaryDirectory() as tmp:
        result = uvloop.run(main_async(args, Path(tmp)))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
