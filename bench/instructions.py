"""Instructions FinOps executes per streamed event and per stream, counted by ``valgrind --tool=callgrind``: a
figure that stays put on a shared machine where CPU time moves by ±10 % from one minute to the next, for comparing
two commits (``PYTHONPATH=<other checkout>/src`` runs that checkout's code).

``finops serve`` runs under callgrind with counting off; once it answers, a warm-up load runs, counting is turned
on (``callgrind_control -i on``) for the measured load and off again, and the count is dumped. Two loads are
measured, one after the other, on the same process: streams of ``--events`` events (per event) and streams of 2
events (per stream). The paced upstream and the load generator (``bench/paced_upstream.py``,
``bench/stream_load.py``) run natively. Counted: every instruction the gateway's threads execute in user space,
the ledger's SQLite thread included; not counted: the kernel (system calls are counted as one instruction each),
so fewer system calls show here only by what they cost in user space. Under valgrind the gateway runs some 50
times slower, so the loads are small and unhurried; the counts do not depend on speed, apart from work done
per loop iteration or per timer tick, which varies a little.

Usage: ``.venv/bin/python bench/instructions.py [--streams 50] [--events 40]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _procs import BENCH, FINOPS, Processes, free_port, wait_ready

VENV_PY = sys.executable
HEADERS = {
    "x-api-key": "bench",
    "anthropic-version": "2023-06-01",
    "x-model-provider": "openai",
    "content-type": "application/json",
}
BODY = {"model": "gpt-bench", "max_tokens": 256, "stream": True, "messages": [{"role": "user", "content": "x"}]}


def load(port: int, body_file: Path, streams: int, events: int, interval_ms: float) -> dict[str, Any]:
    argv = ["taskset", "-c", "1", VENV_PY, str(BENCH / "stream_load.py"), "--port", str(port)]
    argv += ["--path", "/anthropic/v1/messages", "--body-file", str(body_file), "--streams", str(streams)]
    argv += ["--ramp", "0.5", "--hold", "0", "--events", str(events), "--first-ms", "50"]
    argv += ["--interval-ms", str(interval_ms), "--timeout-extra", "120"]
    for key, value in HEADERS.items():
        argv += ["--header", f"{key}: {value}"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"stream_load failed: {out.stderr[-800:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def counted(pid: int, out: Path, measure: Any) -> tuple[int, dict[str, Any]]:
    """Instructions executed while ``measure()`` runs, and what it returned; ``out`` is the process's
    ``--callgrind-out-file``, next to which callgrind writes the dump (``<out>.1``)."""
    subprocess.run(["callgrind_control", "-i", "on", str(pid)], check=True, capture_output=True)
    result = measure()
    subprocess.run(["callgrind_control", "-i", "off", str(pid)], check=True, capture_output=True)
    subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        dump = out.with_name(out.name + ".1")
        total = _total(dump) if dump.exists() else None
        if total is not None:
            return total, result
        time.sleep(0.5)
    raise RuntimeError(f"callgrind wrote no dump at {dump}")


def _total(path: Path) -> int | None:
    for line in path.read_text(encoding="ascii", errors="replace").splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--interval-ms", type=float, default=20.0)
    parser.add_argument("--keep", type=Path, help="copy the callgrind dumps here (for callgrind_annotate)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")

    procs = Processes()
    work = Path(tempfile.mkdtemp(prefix="finops-instructions-"))
    upstream, port = free_port(), free_port()
    paced = [VENV_PY, str(BENCH / "paced_upstream.py"), "--port", str(upstream), "--first-ms", "50"]
    # The upstream's stream length comes from the request's path: one upstream for both loads.
    config = work / "finops.yaml"
    config.write_text(
        "server: {host: 127.0.0.1}\n"
        f"database: {{url: 'sqlite+aiosqlite:///{work / 'finops.db'}'}}\n"
        f"providers:\n  openai: {{api_key: bench-openai-key, base_url: 'http://127.0.0.1:{upstream}/v1'}}\n",
        encoding="utf-8",
    )
    body_file = work / "body.json"
    body_file.write_text(json.dumps(BODY), encoding="utf-8")
    try:
        rows = []
        for events in (args.events, 2):
            upstream_proc = procs.start(
                "upstream",
                [*paced, "--interval-ms", str(args.interval_ms), "--events", str(events)],
                core="1",
                log=work / "upstream.log",
            )
            wait_ready(upstream_proc, upstream, "/health", time.perf_counter(), 30)
            out = work / f"callgrind-{events}.out"
            grind = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
            gateway = procs.start(
                "finops",
                [*grind, FINOPS, "serve", "--config", str(config), "--port", str(port)],
                core="0",
                log=work / "finops.log",
            )
            wait_ready(gateway, port, "/health", time.perf_counter(), 300)
            load(port, body_file, 10, events, args.interval_ms)  # imports, pools, caches
            instructions, result = counted(
                gateway.pid, out, lambda events=events: load(port, body_file, args.streams, events, args.interval_ms)
            )
            if result["failed"] or not result["completed"]:
                raise RuntimeError(f"the measured load did not complete: {result}")
            rows.append((events, result["events"], result["completed"], instructions))
            if args.keep is not None:
                args.keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(out.with_name(out.name + ".1"), args.keep / f"callgrind-{events}-events.out")
            procs.stop(gateway)
            procs.stop(upstream_proc)
        print("| streams of | events | streams | instructions | per event | per stream |")
        print("|--:|--:|--:|--:|--:|--:|")
        for events, delivered, completed, instructions in rows:
            print(
                f"| {events} events | {delivered:,} | {completed} | {instructions:,} | {instructions / delivered:,.0f} "
                f"| {instructions / completed:,.0f} |"
            )
    finally:
        procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
