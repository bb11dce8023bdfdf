"""FinOps against its peers, in one run: ``.venv/bin/python bench/peers.py [--quick] [--profile]``.

Starts, on loopback only:

* a fast fake upstream (``bench/upstream.py``: raw uvloop protocol, fixed answers, one write each);
* the FinOps gateway, one worker (``finops serve --config <generated> --port P``, SQLite in a temp dir);
* nginx ``proxy_pass`` (one worker), the bare-proxy baseline for Anthropic passthrough;
* LiteLLM's proxy (``litellm[proxy]==1.108.7`` in ``bench/.venv-litellm``, installed here when missing, offline
  cost map, no database, no callbacks), one worker.

Each target gets ``wrk`` at fixed concurrency and ``bench/loadgen.py`` at a fixed rate (open loop; Debian has no
wrk2). Gateway/peer run on core 0; upstream and load tools on core 1 (``taskset``). Results go to
``bench/results/latest.json`` and a table on stdout. Every process started here is stopped on exit, every wait
is bounded in time.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from _procs import (  # noqa: E402
    Processes,
    cpu_seconds,
    ensure_litellm,
    free_port,
    machine,
    memory_mb,
    wait_ready,
)
from _procs import run_wrk as _run_wrk  # noqa: E402
from _procs import start_litellm as _start_litellm  # noqa: E402
from _procs import start_nginx as _start_nginx  # noqa: E402
from loadgen import _complete as complete_response  # noqa: E402

ROOT = BENCH.parent
VENV_PY = ROOT / ".venv" / "bin" / "python"
FINOPS = ROOT / ".venv" / "bin" / "finops"
RESULTS = BENCH / "results"
OPENAI_ADAPTER = ROOT / "src" / "finops" / "providers" / "openai" / "adapter.py"
GATEWAY_CORE, LOAD_CORE = "0", "1"

ANTHROPIC_HEADERS = {"content-type": "application/json", "x-api-key": "bench", "anthropic-version": "2023-06-01"}


def anthropic_body(model: str, stream: bool) -> bytes:
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Hello, benchmark! Say something short."}],
    }
    if stream:
        body["stream"] = True
    return json.dumps(body, separators=(",", ":")).encode()


def openai_body(stream: bool) -> bytes:
    body: dict[str, Any] = {
        "model": "gpt-bench",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Hello, benchmark! Say something short."}],
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return json.dumps(body, separators=(",", ":")).encode()


PROCS = Processes()


def start_nginx(work: Path, upstream: int) -> tuple[subprocess.Popen, int, float]:
    return _start_nginx(PROCS, work, upstream, core=GATEWAY_CORE)


def start_litellm(exe: Path, work: Path, upstream: int) -> tuple[subprocess.Popen, int, float]:
    return _start_litellm(PROCS, exe, work, upstream, core=GATEWAY_CORE)


# -- load ---------------------------------------------------------------------------------------------------


def run_wrk(work: Path, port: int, path: str, headers: dict[str, str], body: bytes, seconds: float, conns: int):
    return _run_wrk(work, port, path, headers, body, seconds, conns, core=LOAD_CORE)


def run_rate(work: Path, port: int, path: str, headers: dict[str, str], body: bytes, rate: float, seconds: float):
    body_file = work / f"body-{port}-{abs(hash((path, body)))}.json"
    body_file.write_bytes(body)
    argv = ["taskset", "-c", LOAD_CORE, str(VENV_PY), str(BENCH / "loadgen.py"), "--port", str(port)]
    argv += ["--path", path, "--body-file", str(body_file), "--rate", str(rate), "--duration", str(seconds)]
    argv += ["--warmup", "1" if seconds >= 5 else "0.5", "--drain", "5"]
    for key, value in headers.items():
        argv += ["--header", f"{key}: {value}"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"loadgen failed: {out.stderr[-800:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in result.items()}


# -- targets ------------------------------------------------------------------------------------------------


def openai_base_url(upstream: int) -> str:
    """The OpenAI adapter's base URL convention: with ``/v1`` if its default carries it."""
    text = OPENAI_ADAPTER.read_text(encoding="utf-8") if OPENAI_ADAPTER.exists() else ""
    with_v1 = "api.openai.com/v1" in text
    return f"http://127.0.0.1:{upstream}" + ("/v1" if with_v1 else "")


def start_finops(work: Path, upstream: int, with_openai: bool) -> tuple[subprocess.Popen, int, float]:
    port = free_port()
    lines = [
        "server:",
        "  host: 127.0.0.1",
        "database:",
        f"  url: sqlite+aiosqlite:///{work / 'finops.db'}",
        "providers:",
        "  anthropic:",
        "    api_key: bench-anthropic-key",
        f"    base_url: http://127.0.0.1:{upstream}",
    ]
    if with_openai:
        lines += ["  openai:", "    api_key: bench-openai-key", f"    base_url: {openai_base_url(upstream)}"]
    config = work / "finops.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.perf_counter()
    proc = PROCS.start(
        "finops",
        [str(FINOPS), "serve", "--config", str(config), "--port", str(port)],
        core=GATEWAY_CORE,
        log=work / "finops.log",
    )
    ready = wait_ready(proc, port, "/health", started, 30)
    return proc, port, ready


# -- scenarios ----------------------------------------------------------------------------------------------


def scenarios(upstream: int) -> dict[str, dict[str, Any]]:
    """name -> {target -> (path, headers, body)}; 'direct' is the upstream itself (same wire work, no gateway)."""
    passthrough = {**ANTHROPIC_HEADERS, "x-model-provider": "anthropic"}
    translated = {**ANTHROPIC_HEADERS, "x-model-provider": "openai"}
    result: dict[str, dict[str, Any]] = {}
    for stream in (False, True):
        suffix = "-stream" if stream else ""
        claude, gpt = anthropic_body("claude-bench", stream), anthropic_body("gpt-bench", stream)
        result[f"anthropic-passthrough{suffix}"] = {
            "direct": ("/v1/messages", ANTHROPIC_HEADERS, claude),
            "finops": ("/anthropic/v1/messages", passthrough, claude),
            "nginx": ("/anthropic/v1/messages", passthrough, claude),
            "litellm": ("/v1/messages", ANTHROPIC_HEADERS, claude),
        }
        result[f"anthropic-to-openai{suffix}"] = {
            "direct": ("/v1/chat/completions", {"content-type": "application/json"}, openai_body(stream)),
            "finops": ("/anthropic/v1/messages", translated, gpt),
            "litellm": ("/v1/messages", ANTHROPIC_HEADERS, gpt),
        }
    return result


def check_once(port: int, path: str, headers: dict[str, str], body: bytes) -> None:
    """One request by hand before loading a target: a broken route should fail loudly, not as 100% errors."""
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n{head}content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    data = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.settimeout(30)
        sock.sendall(request.encode() + body)
        while complete_response(data) is None:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    if not data.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"{path} answered: {data[:600]!r}")


def profile(pid: int, out: Path, seconds: float) -> subprocess.Popen:
    py_spy = ROOT / ".venv" / "bin" / "py-spy"
    argv = [str(py_spy), "record", "-p", str(pid), "-d", str(max(1, int(seconds))), "-r", "200", "--nonblocking"]
    argv += ["-f", "raw", "-o", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def bench_target(
    name: str,
    port: int,
    proc: subprocess.Popen,
    work: Path,
    plan: dict[str, dict[str, Any]],
    results: dict[str, Any],
    args: argparse.Namespace,
) -> None:
    # Other work on the machine shows here: the load average before each target's runs.
    results.setdefault("loadavg_before", {})[name] = Path("/proc/loadavg").read_text().split()[:3]
    for scenario, targets in plan.items():
        if name not in targets or (args.only and scenario not in args.only):
            continue
        path, headers, body = targets[name]
        entry = results["scenarios"].setdefault(scenario, {})
        try:
            check_once(port, path, headers, body)
        except Exception as exc:
            entry[name] = {"error": str(exc)[:600]}
            print(f"  {scenario:<30} {name:<8} FAILED: {str(exc)[:200]}", flush=True)
            continue
        # Warm-up, not recorded: first requests pay for imports, pools and caches (LiteLLM's more than most).
        run_wrk(work, port, path, headers, body, args.warmup, args.connections)
        spy = None
        if args.profile and name == "finops":
            spy = profile(proc.pid, RESULTS / f"profile-{scenario}.txt", args.seconds)
        closed = run_wrk(work, port, path, headers, body, args.seconds, args.connections)
        if spy is not None:
            spy.wait(timeout=args.seconds + 30)
        rate = args.rate
        if name == "litellm":
            # An open-loop 500 req/s would only measure LiteLLM's queue: use half what it sustained.
            rate = max(5.0, min(args.rate, round(closed["rps"] * 0.5)))
        cpu_before = cpu_seconds(proc.pid)
        fixed = run_rate(work, port, path, headers, body, rate, args.seconds)
        # CPU per request at the fixed rate: an average over thousands of requests, much steadier between runs
        # than a latency percentile on a shared machine.
        used = cpu_seconds(proc.pid) - cpu_before
        fixed["cpu_us_per_request"] = round(used / max(fixed.get("sent_total", 0), 1) * 1e6, 1)
        entry[name] = {"closed": closed, "rate": fixed, **memory_mb(proc.pid)}
        print(
            f"  {scenario:<30} {name:<8} {closed['rps']:>9.0f} rps (c={args.connections})  "
            f"@{rate:.0f}/s p50 {fixed['p50_ms']:.2f} p99 {fixed['p99_ms']:.2f} ms "
            f"cpu {fixed['cpu_us_per_request']:.0f} µs/req  "
            f"peak {entry[name]['peak_rss_mb']} MB  err {closed['errors']}+{fixed['errors']}",
            flush=True,
        )


def summarise(results: dict[str, Any]) -> None:
    ratios: dict[str, Any] = {}
    verdicts: list[dict[str, Any]] = []
    for scenario, entry in results["scenarios"].items():
        direct = entry.get("direct", {})
        for target, data in entry.items():
            if target == "direct" or "closed" not in data or "rate" not in direct:
                continue
            data["added_p50_ms"] = round(data["rate"]["p50_ms"] - direct["rate"]["p50_ms"], 3)
            data["added_p99_ms"] = round(data["rate"]["p99_ms"] - direct["rate"]["p99_ms"], 3)
            data["added_service_p50_ms"] = round(data["rate"]["service_p50_ms"] - direct["rate"]["service_p50_ms"], 3)
        finops = entry.get("finops", {})
        if "closed" not in finops:
            continue
        for peer in ("litellm", "nginx"):
            if "closed" in entry.get(peer, {}):
                ratios[f"{scenario}: finops/{peer} rps"] = round(
                    finops["closed"]["rps"] / entry[peer]["closed"]["rps"], 2
                )
    results["ratios"] = ratios

    def verdict(name: str, value: Any, target: str, met: bool | None) -> None:
        verdicts.append({"target": name, "value": value, "goal": target, "met": met})

    translated = results["scenarios"].get("anthropic-to-openai", {})
    key = "anthropic-to-openai: finops/litellm rps"
    verdict(
        "throughput vs LiteLLM, Anthropic->OpenAI",
        ratios.get(key),
        ">= 25x",
        (ratios[key] >= 25) if key in ratios else None,
    )
    for scenario in ("anthropic-passthrough", "anthropic-to-openai"):
        data = results["scenarios"].get(scenario, {}).get("finops", {})
        if "added_p50_ms" in data:
            at = data["rate"]["target_rate"]
            verdict(
                f"added p50 @{at:.0f}/s, {scenario}", data["added_p50_ms"], "<= 0.5 ms", data["added_p50_ms"] <= 0.5
            )
            verdict(f"added p99 @{at:.0f}/s, {scenario}", data["added_p99_ms"], "<= 2 ms", data["added_p99_ms"] <= 2)
    key = "anthropic-passthrough: finops/nginx rps"
    verdict(
        "throughput vs nginx, passthrough",
        ratios.get(key),
        ">= 0.333",
        (ratios[key] >= 1 / 3) if key in ratios else None,
    )
    start = results.get("startup_s", {}).get("finops")
    verdict("start-up to /health 200", start, "< 1.5 s", (start < 1.5) if start is not None else None)
    if not translated.get("finops"):
        verdicts.append({"target": "Anthropic->OpenAI scenarios", "value": None, "goal": "run", "met": None})
    results["targets"] = verdicts


def print_table(results: dict[str, Any]) -> None:
    print()
    head = f"{'scenario':<30} {'target':<8} {'rps':>8} {'p50':>7} {'p99':>7} {'p999':>7} {'@rate':>6} {'p50':>7} "
    head += f"{'p99':>7} {'p999':>7} {'+p50':>7} {'+p99':>7} {'cpu/req':>8} {'peakMB':>7}"
    print(
        "closed loop = wrk fixed concurrency; @rate = open-loop fixed rate; + = added vs direct upstream (ms); "
        "cpu/req = µs of CPU per request at the fixed rate"
    )
    print(head)
    for scenario, entry in results["scenarios"].items():
        for target, data in entry.items():
            if "closed" not in data:
                print(f"{scenario:<30} {target:<8} {data.get('error', '')[:80]}")
                continue
            c, r = data["closed"], data["rate"]
            print(
                f"{scenario:<30} {target:<8} {c['rps']:>8.0f} {c['p50_ms']:>7.2f} {c['p99_ms']:>7.2f} "
                f"{c['p999_ms']:>7.2f} {r['target_rate']:>6.0f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} "
                f"{r['p999_ms']:>7.2f} {data.get('added_p50_ms', 0):>7.2f} {data.get('added_p99_ms', 0):>7.2f} "
                f"{r.get('cpu_us_per_request', 0):>8.0f} {data.get('peak_rss_mb', 0):>7.1f}"
            )
    batch = results.get("batch")
    if batch:
        print(
            f"\nbatch results translation: {batch.get('lines', 0):,} lines in {batch.get('seconds', 0):.2f} s = "
            f"{batch.get('lines_per_s', 0):,.0f} lines/s, peak RSS {batch.get('peak_rss_mb', 0):.1f} MB"
        )
    print(
        "start-up (process start -> health 200): "
        + ", ".join(f"{k} {v:.3f} s" for k, v in results["startup_s"].items())
    )
    print("\nratios: " + json.dumps(results["ratios"], indent=1))
    print("\ntargets:")
    for v in results["targets"]:
        state = {True: "MET", False: "NOT MET", None: "not measured"}[v["met"]]
        print(f"  {v['target']:<50} {v['value']!s:>10}  goal {v['goal']:<10} {state}")


def markdown(results: dict[str, Any]) -> str:
    """The results as Markdown tables (pasted into docs/benchmarks.md)."""
    out = [
        "| scenario | target | rps (wrk c={c}) | p50 | p99 | p999 | fixed rate | p50 | p99 | p999 "
        "| added p50 | added p99 | CPU µs/req at fixed rate | peak RSS MB |".format(
            c=results["settings"]["wrk_connections"]
        ),
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for scenario, entry in results["scenarios"].items():
        for target, data in entry.items():
            if "closed" not in data:
                out.append(f"| {scenario} | {target} | error: {data.get('error', '')[:60]} ||||||||||||")
                continue
            c, r = data["closed"], data["rate"]
            added = ("-", "-") if target == "direct" else (f"{data['added_p50_ms']:.2f}", f"{data['added_p99_ms']:.2f}")
            out.append(
                f"| {scenario} | {target} | {c['rps']:,.0f} | {c['p50_ms']:.2f} | {c['p99_ms']:.2f} "
                f"| {c['p999_ms']:.2f} | {r['target_rate']:.0f}/s | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
                f"| {r['p999_ms']:.2f} "
                f"| {added[0]} | {added[1]} | {r.get('cpu_us_per_request', 0):.0f} | {data['peak_rss_mb']:.0f} |"
            )
    out += ["", "| target | value | goal | verdict |", "|---|--:|---|---|"]
    for v in results["targets"]:
        state = {True: "met", False: "**not met**", None: "not measured"}[v["met"]]
        out.append(f"| {v['target']} | {v['value']} | {v['goal']} | {state} |")
    batch = results.get("batch", {})
    if "lines" in batch:
        out += [
            "",
            f"Batch results translation: {batch['lines']:,} lines in {batch['seconds']:.2f} s = "
            f"{batch['lines_per_s']:,.0f} lines/s, peak RSS {batch['peak_rss_mb']:.1f} MB ({batch['path']}).",
        ]
    starts = ", ".join(f"{k} {v:.3f} s" for k, v in results["startup_s"].items())
    out += ["", f"Start-up, process start to first `200` on its health URL: {starts}."]
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: short scenarios, LiteLLM only if installed")
    parser.add_argument("--seconds", type=float, help="seconds per load run (default 10, quick 2)")
    parser.add_argument("--rate", type=float, default=500.0, help="fixed rate for latency runs (req/s)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--skip", action="append", default=[], choices=["litellm", "nginx", "batch"])
    parser.add_argument("--only", action="append", default=[], help="run only this scenario (repeatable)")
    parser.add_argument("--profile", action="store_true", help="py-spy FinOps during its wrk runs (raw stacks)")
    parser.add_argument("--output", default=str(RESULTS / "latest.json"))
    args = parser.parse_args()
    args.seconds = args.seconds or (2.0 if args.quick else 10.0)
    args.warmup = 1.0 if args.quick else 2.0
    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            print(f"{tool} not found: apt-get install -y {'wrk' if tool == 'wrk' else 'util-linux'}", file=sys.stderr)
            return 2
    if (os.cpu_count() or 1) < 2:
        print("need at least 2 cores", file=sys.stderr)
        return 2

    atexit.register(PROCS.stop_all)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))
    RESULTS.mkdir(exist_ok=True)
    with_openai = OPENAI_ADAPTER.exists()
    results: dict[str, Any] = {
        "command": " ".join(["bench/peers.py", *sys.argv[1:]]),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "settings": {
            "seconds": args.seconds,
            "rate": args.rate,
            "wrk_connections": args.connections,
            "cores": {"gateway": GATEWAY_CORE, "load_and_upstream": LOAD_CORE},
        },
        "openai_adapter_present": with_openai,
        "startup_s": {},
        "scenarios": {},
    }
    with tempfile.TemporaryDirectory(prefix="finops-bench-") as tmp:
        work = Path(tmp)
        upstream_port = free_port()
        upstream = PROCS.start(
            "upstream",
            [str(VENV_PY), str(BENCH / "upstream.py"), "--port", str(upstream_port)],
            core=LOAD_CORE,
            log=work / "upstream.log",
        )
        wait_ready(upstream, upstream_port, "/health", time.perf_counter(), 15)
        plan = scenarios(upstream_port)
        if not with_openai:
            print("src/finops/providers/openai/adapter.py absent: FinOps skips the Anthropic->OpenAI scenarios")
            for scenario in plan.values():
                if scenario["direct"][0] == "/v1/chat/completions":
                    scenario.pop("finops", None)

        print("direct upstream", flush=True)
        bench_target("direct", upstream_port, upstream, work, plan, results, args)

        starts = []
        for attempt in range(3):
            proc, port, ready = start_finops(work, upstream_port, with_openai)
            starts.append(ready)
            if attempt < 2:
                PROCS.stop(proc)
        results["startup_s"]["finops"] = round(statistics.median(starts), 3)
        results["startup_all_s"] = {"finops": [round(s, 3) for s in starts]}
        print(f"finops (start-up {results['startup_s']['finops']:.3f} s, median of 3)", flush=True)
        bench_target("finops", port, proc, work, plan, results, args)
        PROCS.stop(proc)

        if "nginx" not in args.skip:
            if shutil.which("nginx") or Path("/usr/sbin/nginx").exists():
                proc, port, ready = start_nginx(work, upstream_port)
                results["startup_s"]["nginx"] = round(ready, 3)
                print(f"nginx (start-up {ready:.3f} s)", flush=True)
                bench_target("nginx", port, proc, work, plan, results, args)
                PROCS.stop(proc)
            else:
                print("nginx not found: apt-get install -y nginx-light", flush=True)

        if "litellm" not in args.skip:
            exe = ensure_litellm(args.quick)
            if exe is not None:
                try:
                    proc, port, ready = start_litellm(exe, work, upstream_port)
                    results["startup_s"]["litellm"] = round(ready, 3)
                    print(f"litellm (start-up {ready:.3f} s)", flush=True)
                    bench_target("litellm", port, proc, work, plan, results, args)
                    PROCS.stop(proc)
                except RuntimeError as exc:
                    print(f"litellm failed: {exc}; log tail:\n{(work / 'litellm.log').read_text()[-2000:]}")
                    results["litellm_error"] = str(exc)

        if "batch" not in args.skip:
            lines = 20_000 if args.quick else 100_000
            out = subprocess.run(
                ["taskset", "-c", GATEWAY_CORE, str(VENV_PY), str(BENCH / "batch_translate.py"), "--lines", str(lines)],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if out.returncode == 0:
                results["batch"] = json.loads(out.stdout.strip().splitlines()[-1])
            else:
                results["batch"] = {"error": out.stderr[-800:]}
        PROCS.stop_all()

    summarise(results)
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    Path(args.output).with_suffix(".md").write_text(markdown(results), encoding="utf-8")
    print_table(results)
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
