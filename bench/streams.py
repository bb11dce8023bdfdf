"""Thousands of long streams at once, FinOps against its peers in one run: ``.venv/bin/python bench/streams.py``.

Starts, on loopback only:

* the paced SSE upstream (``bench/paced_upstream.py``: first event after 200 ms, then one every 250 ms, 40 events);
* per target and per level, a fresh process: FinOps (``finops serve``, SQLite, ``--workers`` as asked), nginx
  ``proxy_pass`` with buffering off (passthrough only: it cannot translate), LiteLLM 1.108.7 (its venv and config
  are ``bench/_procs.py``'s, shared with ``bench/peers.py``); "direct" is the upstream itself, the baseline;
* the load generator (``bench/stream_load.py``) ramping to N concurrent streams over ``--ramp`` seconds and holding
  them ``--hold`` seconds.

Gateways run on core 0; upstream and load generator on core 1 (``taskset``): the direct and nginx rows show what
the load side can do. Four scenarios: ``translated`` (Anthropic in, OpenAI Chat Completions upstream),
``passthrough`` (Anthropic in and out), ``gemini`` (Anthropic in, Gemini ``streamGenerateContent`` upstream) and
``bedrock`` (Anthropic in, Bedrock ConverseStream upstream, a bearer key); the last two FinOps only, asked for by
name. Per target and level: streams completed / failed, time to first event
and inter-event gap percentiles and what they add over direct at the same level, gateway RSS per open stream
(peak RSS during the level minus RSS after a warm-up, over the peak of open streams), CPU per relayed event
(gateway process tree's user + system time over the level / events delivered), and where it breaks. The direct
row's verdict says whether the load side itself kept the upstream's schedule within the goals ("on time") or not
("late": from that level on, no gateway row can show the goals met on this machine).
``--scaling`` adds FinOps with 1 vs 2 workers for short requests (wrk) and streams.

Results: ``bench/results/streams-latest.json`` and a Markdown table on stdout (``streams-latest.md``). Every process
started here runs in its own session and is stopped by its id on exit; every wait is bounded.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from _procs import (  # noqa: E402
    Processes,
    cpu_seconds,
    descendants,
    ensure_litellm,
    free_port,
    machine,
    run_wrk,
    start_litellm,
    start_nginx,
    wait_ready,
)

ROOT = BENCH.parent
VENV_PY = ROOT / ".venv" / "bin" / "python"
FINOPS = ROOT / ".venv" / "bin" / "finops"
# py-spy from the venv, else from PATH (e.g. installed with ``pip install --target``, its bin/ put on PATH).
PY_SPY = (
    ROOT / ".venv" / "bin" / "py-spy"
    if (ROOT / ".venv" / "bin" / "py-spy").exists()
    else Path(shutil.which("py-spy") or "py-spy")
)
RESULTS = BENCH / "results"
GATEWAY_CORE, LOAD_CORE = "0", "1"
PROCS = Processes()

ANTHROPIC_HEADERS = {"content-type": "application/json", "x-api-key": "bench", "anthropic-version": "2023-06-01"}
BEDROCK_MODEL = "us.amazon.nova-2-lite-v1:0"
PROMPT = [{"role": "user", "content": "Stream me forty words."}]
# Targets meeting these hold a level "ok" (issue 17's goals for one gateway core).
GOAL_TTFE_MS, GOAL_GAP_MS = 10.0, 5.0
# Past these a level is "broken": streams fail, or the first event comes a second late.
BROKEN_TTFE_MS = 1000.0


def body(model: str, *, openai: bool = False) -> bytes:
    payload: dict[str, Any] = {"model": model, "max_tokens": 256, "messages": PROMPT, "stream": True}
    if openai:
        payload["stream_options"] = {"include_usage": True}
    return json.dumps(payload, separators=(",", ":")).encode()


def plan(scenario: str) -> dict[str, tuple[str, dict[str, str], bytes]]:
    """target -> (path, headers, body) for one scenario."""
    if scenario == "translated":
        translated = {**ANTHROPIC_HEADERS, "x-model-provider": "openai"}
        return {
            "direct": ("/v1/chat/completions", {"content-type": "application/json"}, body("gpt-bench", openai=True)),
            "finops": ("/anthropic/v1/messages", translated, body("gpt-bench")),
            "litellm": ("/v1/messages", ANTHROPIC_HEADERS, body("gpt-bench")),
        }
    if scenario == "gemini":
        # No direct row: the load generator reads Anthropic and OpenAI streams only (the other scenarios' direct
        # rows show what the load side can do).
        gemini = {**ANTHROPIC_HEADERS, "x-model-provider": "gemini"}
        return {"finops": ("/anthropic/v1/messages", gemini, body("gemini-bench"))}
    if scenario == "bedrock":  # ConverseStream (a Nova model), no direct row either
        bedrock = {**ANTHROPIC_HEADERS, "x-model-provider": "bedrock"}
        return {"finops": ("/anthropic/v1/messages", bedrock, body(BEDROCK_MODEL))}
    passthrough = {**ANTHROPIC_HEADERS, "x-model-provider": "anthropic"}
    return {
        "direct": ("/v1/messages", ANTHROPIC_HEADERS, body("claude-bench")),
        "finops": ("/anthropic/v1/messages", passthrough, body("claude-bench")),
        "nginx": ("/anthropic/v1/messages", passthrough, body("claude-bench")),
        "litellm": ("/v1/messages", ANTHROPIC_HEADERS, body("claude-bench")),
    }


# -- targets ------------------------------------------------------------------------------------------------


def start_finops(work: Path, upstream: int, workers: int, *, core: str) -> tuple[subprocess.Popen, int, float]:
    port = free_port()
    config = work / f"finops-{port}.yaml"
    config.write_text(
        "\n".join(
            [
                "server: {host: 127.0.0.1}",
                f"database: {{url: 'sqlite+aiosqlite:///{work / f'finops-{port}.db'}'}}",
                "providers:",
                f"  anthropic: {{api_key: bench-anthropic-key, base_url: 'http://127.0.0.1:{upstream}', "
                "max_connections: 20000}",
                f"  openai: {{api_key: bench-openai-key, base_url: 'http://127.0.0.1:{upstream}/v1', "
                "max_connections: 20000}",
                f"  gemini: {{api_key: bench-gemini-key, base_url: 'http://127.0.0.1:{upstream}', "
                "max_connections: 20000}",
                # A Bedrock API key (a bearer header) rather than SigV4: the upstream checks neither.
                f"  bedrock: {{bearer_token: bench-bedrock-key, region: us-east-1, "
                f"base_url: 'http://127.0.0.1:{upstream}', max_connections: 20000}}",
                "",
            ]
        ),
        encoding="utf-8",
    )
    argv = [str(FINOPS), "serve", "--config", str(config), "--port", str(port), "--workers", str(workers)]
    started = time.perf_counter()
    proc = PROCS.start("finops", argv, core=core, log=work / f"finops-{port}.log")
    return proc, port, wait_ready(proc, port, "/health", started, 60)


def start_target(name: str, work: Path, upstream: int, args: argparse.Namespace, level: int, workers: int = 1):
    """(process, port) for a target, or (None, upstream port) for direct."""
    if name == "direct":
        return None, upstream
    if name == "finops":
        core = GATEWAY_CORE if workers == 1 else f"{GATEWAY_CORE},{LOAD_CORE}"
        proc, port, _ = start_finops(work, upstream, workers, core=core)
        return proc, port
    if name == "nginx":
        sockets = level * 2 + 512
        proc, port, _ = start_nginx(PROCS, work, upstream, core=GATEWAY_CORE, streaming=True, connections=sockets)
        return proc, port
    if name == "litellm":
        exe = ensure_litellm(False)
        if exe is None:
            raise RuntimeError("LiteLLM could not be installed")
        proc, port, _ = start_litellm(PROCS, exe, work, upstream, core=GATEWAY_CORE)
        return proc, port
    raise ValueError(name)


# -- measuring ----------------------------------------------------------------------------------------------


class RssSampler:
    """Sums VmRSS over a process tree every 0.25 s on a thread; ``peak_kib`` is the highest sum seen."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kib, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, rss_tree_kib(self.pid))
            self._stop.wait(0.25)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def rss_tree_kib(pid: int) -> int:
    total = 0
    for member in descendants(pid):
        try:
            with open(f"/proc/{member}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def load(
    work: Path, port: int, target: tuple[str, dict[str, str], bytes], streams: int, args: argparse.Namespace, **over
) -> dict[str, Any]:
    path, headers, payload = target
    body_file = work / f"body-{abs(hash(payload))}.json"
    body_file.write_bytes(payload)
    ramp, hold = over.get("ramp", args.ramp), over.get("hold", args.hold)
    argv = ["taskset", "-c", LOAD_CORE, str(VENV_PY), str(BENCH / "stream_load.py"), "--port", str(port)]
    argv += ["--path", path, "--body-file", str(body_file), "--streams", str(streams)]
    argv += ["--ramp", str(ramp), "--hold", str(hold), "--events", str(args.events)]
    argv += ["--first-ms", str(args.first_ms), "--interval-ms", str(args.interval_ms), "--timeout-extra", "30"]
    for key, value in headers.items():
        argv += ["--header", f"{key}: {value}"]
    budget = ramp + hold + args.first_ms / 1000 + args.events * args.interval_ms / 1000 + 90
    out = subprocess.run(argv, capture_output=True, text=True, timeout=budget, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"stream_load failed: {out.stderr[-800:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def profile(pid: int, out: Path, seconds: float, native: bool) -> subprocess.Popen:
    argv = ["taskset", "-c", LOAD_CORE, str(PY_SPY), "record", "-p", str(pid), "-d", str(max(1, int(seconds)))]
    argv += ["-r", "100", "--subprocesses", "-f", "raw", "-o", str(out)]
    argv += ["--native"] if native else ["--nonblocking", "--gil"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def run_level(
    name: str, scenario: str, level: int, work: Path, upstream: int, args: argparse.Namespace, workers: int = 1
) -> dict[str, Any]:
    target = plan(scenario)[name]
    # Other work on the machine shows here: the 1-minute load average before the level (2 cores).
    loadavg = Path("/proc/loadavg").read_text().split()[:3]
    proc, port = start_target(name, work, upstream, args, level, workers)
    try:
        if proc is not None and args.warmup_streams:
            load(work, port, target, args.warmup_streams, args, ramp=0.2, hold=0)  # imports, pools, caches
        baseline = rss_tree_kib(proc.pid) if proc is not None else 0
        cpu_before = cpu_seconds(proc.pid) if proc is not None else 0.0
        spy = None
        if proc is not None and name == "finops" and args.profile == level:
            spy_out = RESULTS / f"profile-streams-{scenario}-{level}.txt"
            spy = profile(proc.pid, spy_out, args.ramp + args.hold, args.native)
        if proc is not None:
            with RssSampler(proc.pid) as rss:
                result = load(work, port, target, level, args)
            result["rss_baseline_mb"] = round(baseline / 1024, 1)
            result["rss_peak_mb"] = round(rss.peak_kib / 1024, 1)
            open_peak = max(result["peak_open"], 1)
            result["rss_kb_per_stream"] = round((rss.peak_kib - baseline) / open_peak, 1)
            used = cpu_seconds(proc.pid) - cpu_before
            result["cpu_s"] = round(used, 2)
            result["cpu_us_per_event"] = round(used / result["events"] * 1e6, 1) if result["events"] else None
        else:
            result = load(work, port, target, level, args)
        if spy is not None:
            spy.wait(timeout=args.ramp + args.hold + 60)
        result["loadavg_before"] = loadavg
        return result
    finally:
        if proc is not None:
            PROCS.stop(proc, timeout=60)


def verdict(row: dict[str, Any]) -> str:
    if row.get("error"):
        return "broken"
    added_first = row.get("added_ttfe_p99_ms")
    if row["failed"] or (added_first is not None and added_first > BROKEN_TTFE_MS):
        return "broken"
    if added_first is None:
        return "-"  # no direct row to judge against (the gemini scenario)
    if added_first > GOAL_TTFE_MS or (row.get("added_gap_p99_ms") or 0) > GOAL_GAP_MS:
        return "degraded"
    return "ok"


def load_verdict(row: dict[str, Any], first_ms: float, interval_ms: float) -> str:
    """The direct row judged against the upstream's own schedule: "late" when the load generator and the upstream
    (both on core 1, no gateway in between) already miss it by more than the goals. A gateway's "added" figures at
    that level are then taken against a moving floor and cannot show the goals met; the rows say so instead of
    reading as the gateway's fault alone."""
    if row.get("error") or row["failed"] or row.get("ttfe_p99_ms") is None:
        return "late"
    late_first = row["ttfe_p99_ms"] - first_ms
    late_gap = row["gap_p99_ms"] - interval_ms if row.get("gap_p99_ms") is not None else 0.0  # one-event streams
    return "late" if late_first > GOAL_TTFE_MS or late_gap > GOAL_GAP_MS else "on time"


def added(row: dict[str, Any], direct: dict[str, Any] | None) -> None:
    if not direct or "ttfe_p50_ms" not in direct:
        return
    for key in ("ttfe_p50_ms", "ttfe_p99_ms", "gap_p99_ms", "late_p99_ms"):
        if row.get(key) is not None and direct.get(key) is not None:
            row[f"added_{key}"] = round(row[key] - direct[key], 2)


# -- report -------------------------------------------------------------------------------------------------


def markdown(results: dict[str, Any]) -> str:
    out = [
        "| scenario | target | streams | completed | failed | first event p50 / p99 ms (added) "
        "| gap p99 ms (added) | RSS KB / open stream | CPU µs / event | verdict |",
        "|---|---|--:|--:|--:|---|---|--:|--:|---|",
    ]
    for scenario, targets in results["scenarios"].items():
        for name, levels in targets.items():
            for level, row in levels.items():
                if "error" in row and "completed" not in row:
                    out.append(f"| {scenario} | {name} | {level} | error: {row['error'][:80]} |||||| broken |")
                    continue
                first = f"{row['ttfe_p50_ms']} / {row['ttfe_p99_ms']}"
                gap = f"{row['gap_p99_ms']}"
                if name != "direct":
                    first += f" (+{row.get('added_ttfe_p50_ms')} / +{row.get('added_ttfe_p99_ms')})"
                    gap += f" (+{row.get('added_gap_p99_ms')})"
                failures = row["failed"] if not row["failed"] else f"{row['failed']} {row['failures']}"
                out.append(
                    f"| {scenario} | {name} | {int(level):,} (peak open {row['peak_open']:,}) | {row['completed']:,} "
                    f"| {failures} | {first} | {gap} | {row.get('rss_kb_per_stream', '-')} "
                    f"| {row.get('cpu_us_per_event', '-')} | {row.get('verdict', '-')} |"
                )
    breaks = results.get("breaks", {})
    if breaks:
        out += ["", "Where it breaks (first level with failures or first event > 1 s late at p99):", ""]
        out += [f"* {key}: {value}" for key, value in breaks.items()]
    late = results.get("load_late", {})
    if late:
        out += [
            "",
            "Where the load side is late by itself (the direct row misses the upstream's schedule by more than the "
            f"goals, {GOAL_TTFE_MS:g} ms first event / {GOAL_GAP_MS:g} ms gap at p99): no target can be shown to meet "
            "them from that level on, on this machine:",
            "",
        ]
        out += [f"* {key}: {value}" for key, value in late.items()]
    scaling = results.get("scaling")
    if scaling:
        out += ["", "| workers | short requests req/s (wrk) | p99 ms | streams | failed | first p99 ms | gap p99 ms |"]
        out += ["|--:|--:|--:|--:|--:|--:|--:|"]
        for workers, row in scaling.items():
            short, stream = row.get("short", {}), row.get("streams", {})
            out.append(
                f"| {workers} | {short.get('rps', '-')} | {short.get('p99_ms', '-')} | {stream.get('streams_target')} "
                f"| {stream.get('failed')} | {stream.get('ttfe_p99_ms')} | {stream.get('gap_p99_ms')} |"
            )
    return "\n".join(out) + "\n"


def scaling(work: Path, upstream: int, short_upstream: int, args: argparse.Namespace) -> dict[str, Any]:
    """FinOps with 1 and 2 workers: short requests (wrk, translated, against the fast upstream) and streams."""
    rows: dict[str, Any] = {}
    short_body = json.dumps(
        {"model": "gpt-bench", "max_tokens": 64, "messages": PROMPT}, separators=(",", ":")
    ).encode()
    headers = {**ANTHROPIC_HEADERS, "x-model-provider": "openai"}
    for workers in (1, 2):
        entry: dict[str, Any] = {}
        core = GATEWAY_CORE if workers == 1 else f"{GATEWAY_CORE},{LOAD_CORE}"
        proc, port, _ = start_finops(work, short_upstream, workers, core=core)
        try:
            run_wrk(work, port, "/anthropic/v1/messages", headers, short_body, 2, 32, core=LOAD_CORE)
            entry["short"] = run_wrk(
                work, port, "/anthropic/v1/messages", headers, short_body, args.short_seconds, 32, core=LOAD_CORE
            )
        finally:
            PROCS.stop(proc, timeout=60)
        entry["streams"] = run_level("finops", "translated", args.scaling_streams, work, upstream, args, workers)
        rows[str(workers)] = entry
        print(f"  workers={workers}: short {entry['short']['rps']:.0f} req/s; streams {summary(entry['streams'])}")
    return rows


def summary(row: dict[str, Any]) -> str:
    if "completed" not in row:
        return f"error {row.get('error', '')[:100]}"
    return (
        f"done {row['completed']:>6} fail {row['failed']:>5} open {row['peak_open']:>6} "
        f"first p50/p99 {row['ttfe_p50_ms']}/{row['ttfe_p99_ms']} gap p99 {row['gap_p99_ms']} "
        f"rss/stream {row.get('rss_kb_per_stream', '-')} KB cpu/event {row.get('cpu_us_per_event', '-')} µs"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", default="1000,2000,5000", help="concurrent streams, comma-separated")
    parser.add_argument(
        "--scenario", action="append", choices=["translated", "passthrough", "gemini", "bedrock"], default=[]
    )
    parser.add_argument("--skip", action="append", default=[], choices=["direct", "finops", "nginx", "litellm"])
    parser.add_argument("--workers", type=int, default=1, help="FinOps workers (1: pinned to core 0)")
    parser.add_argument("--ramp", type=float, default=5.0, help="seconds to reach the level")
    parser.add_argument("--hold", type=float, default=10.0, help="seconds the level is held")
    parser.add_argument("--first-ms", type=float, default=200.0)
    parser.add_argument("--interval-ms", type=float, default=250.0)
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--warmup-streams", type=int, default=20, help="streams run before a level (0: none)")
    parser.add_argument("--litellm-max", type=int, default=2000, help="highest level LiteLLM is given")
    parser.add_argument("--profile", type=int, help="py-spy FinOps (raw stacks) during this level")
    parser.add_argument("--native", action="store_true", help="--profile with native frames (C, uvloop)")
    parser.add_argument("--scaling", action="store_true", help="also FinOps 1 vs 2 workers")
    parser.add_argument("--scaling-streams", type=int, default=1000)
    parser.add_argument("--short-seconds", type=float, default=10.0)
    parser.add_argument("--output", default=str(RESULTS / "streams-latest.json"))
    args = parser.parse_args()
    levels = [int(level) for level in args.levels.split(",") if level]
    scenarios = args.scenario or ["translated", "passthrough"]  # gemini and bedrock only when asked for
    if not shutil.which("taskset") or (os.cpu_count() or 1) < 2:
        print("needs taskset and 2 cores", file=sys.stderr)
        return 2
    if "nginx" not in args.skip and not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        print("nginx not found: apt-get install -y nginx-light (or --skip nginx)", file=sys.stderr)
        return 2
    atexit.register(PROCS.stop_all)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))
    RESULTS.mkdir(exist_ok=True)
    results: dict[str, Any] = {
        "command": " ".join(["bench/streams.py", *sys.argv[1:]]),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "settings": {
            "levels": levels,
            "ramp_s": args.ramp,
            "hold_s": args.hold,
            "first_ms": args.first_ms,
            "interval_ms": args.interval_ms,
            "events": args.events,
            "finops_workers": args.workers,
            "cores": {"gateway": GATEWAY_CORE, "upstream_and_load": LOAD_CORE},
        },
        "scenarios": {},
        "breaks": {},
        "load_late": {},
    }
    with tempfile.TemporaryDirectory(prefix="finops-streams-") as tmp:
        work = Path(tmp)
        upstream_port = free_port()
        pacing = ["--first-ms", str(args.first_ms), "--interval-ms", str(args.interval_ms)]
        pacing += ["--events", str(args.events)]
        upstream = PROCS.start(
            "paced-upstream",
            [str(VENV_PY), str(BENCH / "paced_upstream.py"), "--port", str(upstream_port), *pacing],
            core=LOAD_CORE,
            log=work / "upstream.log",
        )
        wait_ready(upstream, upstream_port, "/health", time.perf_counter(), 15)
        for scenario in scenarios:
            targets = [name for name in plan(scenario) if name not in args.skip]
            table = results["scenarios"].setdefault(scenario, {})
            for name in targets:
                for level in levels:
                    if name == "litellm" and level > args.litellm_max:
                        continue
                    print(f"{scenario:<12} {name:<8} {level:>6} streams ...", flush=True)
                    try:
                        row = run_level(name, scenario, level, work, upstream_port, args, args.workers)
                    except Exception as exc:  # a target that dies is a result, not the end of the run
                        row = {"error": str(exc)[:600]}
                    added(row, table.get("direct", {}).get(str(level)))
                    if "completed" in row:
                        row["verdict"] = (
                            verdict(row) if name != "direct" else load_verdict(row, args.first_ms, args.interval_ms)
                        )
                    table.setdefault(name, {})[str(level)] = row
                    print(f"{'':<21} {summary(row)}", flush=True)
                    if name == "direct" and row.get("verdict") == "late":
                        results["load_late"].setdefault(scenario, f"{level:,} streams")
                    if name != "direct" and row.get("verdict") == "broken":
                        results["breaks"].setdefault(f"{scenario}/{name}", f"{level:,} streams")
                        if row.get("failed", 0) > level // 2 or "completed" not in row:
                            break  # further levels only take longer to fail
        if args.scaling:
            short_port = free_port()
            short = PROCS.start(
                "upstream",
                [str(VENV_PY), str(BENCH / "upstream.py"), "--port", str(short_port)],
                core=LOAD_CORE,
                log=work / "short-upstream.log",
            )
            wait_ready(short, short_port, "/health", time.perf_counter(), 15)
            print("scaling: FinOps 1 vs 2 workers", flush=True)
            results["scaling"] = scaling(work, upstream_port, short_port, args)
        PROCS.stop_all()
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    report = markdown(results)
    Path(args.output).with_suffix(".md").write_text(report, encoding="utf-8")
    print("\n" + report + f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
