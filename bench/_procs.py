"""Helpers shared by the per-provider bench scripts: finops subprocesses, memory sampling, latency loops."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

FINOPS = str(Path(sys.executable).parent / "finops")
BENCH = Path(__file__).resolve().parent
LITELLM_VENV = BENCH / ".venv-litellm"
LITELLM_PIN = "litellm[proxy]==1.108.7"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not found for {pid}")


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def emulator(provider: str, batch_seconds: float = 2.0) -> Iterator[str]:
    port = free_port()
    cmd = [FINOPS, "emulate", provider, "--port", str(port), "--batch-seconds", str(batch_seconds)]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/_emulator/requests", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextmanager
def gateway(config_yaml: str) -> Iterator[tuple[str, int]]:
    """A gateway subprocess; yields (base URL, pid)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        config = Path(workdir) / "finops.yaml"
        config.write_text(config_yaml.replace("{DB}", f"sqlite+aiosqlite:///{workdir}/bench.db"))
        process = subprocess.Popen(
            [FINOPS, "serve", "--config", str(config), "--port", str(port)],
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ},
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}/health", process)
            yield f"http://127.0.0.1:{port}", process.pid
        finally:
            process.terminate()
            process.wait(timeout=30)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latencies(url: str, body: bytes, headers: dict[str, str], count: int) -> list[float]:
    """Milliseconds per request for ``count`` sequential POSTs on one kept-alive connection (after a warm-up)."""
    samples = []
    with httpx.Client(timeout=30) as client:
        for _ in range(50):  # warm-up: connections, caches
            client.post(url, content=body, headers=headers).raise_for_status()
        for _ in range(count):
            started = time.perf_counter()
            client.post(url, content=body, headers=headers).raise_for_status()
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def print_added_latency(label: str, direct: list[float], through: list[float]) -> None:
    p50d, p99d = percentile(direct, 0.5), percentile(direct, 0.99)
    p50g, p99g = percentile(through, 0.5), percentile(through, 0.99)
    print(f"{label}, {len(direct)} sequential requests (ms)")
    print(f"  direct to emulator : p50 {p50d:.3f}  p99 {p99d:.3f}  mean {statistics.mean(direct):.3f}")
    print(f"  through gateway    : p50 {p50g:.3f}  p99 {p99g:.3f}  mean {statistics.mean(through):.3f}")
    print(f"  gateway-added      : p50 {p50g - p50d:.3f}  p99 {p99g - p99d:.3f}")


class PeakSampler:
    """Samples a process's VmRSS every 5 ms on a thread; ``peak`` is the highest value seen (KiB)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.005)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def upload_peak(base: str, pid: int, megabytes: int, headers: dict[str, str]) -> str:
    """Upload a ``megabytes`` MB file through the gateway; a line saying how its memory moved meanwhile."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "big.bin"
        with path.open("wb") as handle:
            chunk = os.urandom(1024 * 1024)
            for _ in range(megabytes):
                handle.write(chunk)
        before, hwm_before = rss_kib(pid), rss_kib(pid, "VmHWM")
        started = time.perf_counter()
        with PeakSampler(pid) as sampler, path.open("rb") as handle:
            response = httpx.post(
                f"{base}/anthropic/v1/files",
                headers=headers,
                files={"file": ("big.bin", handle, "application/octet-stream")},
                timeout=600,
            )
        elapsed = time.perf_counter() - started
    response.raise_for_status()
    assert response.json()["size_bytes"] == megabytes * 1024 * 1024
    return (
        f"upload {megabytes} MB in {elapsed:.1f} s: gateway RSS before {before / 1024:.1f} MB, sampled peak "
        f"{sampler.peak / 1024:.1f} MB (+{(sampler.peak - before) / 1024:.1f} MB); VmHWM {hwm_before / 1024:.1f} -> "
        f"{rss_kib(pid, 'VmHWM') / 1024:.1f} MB"
    )


# -- processes (shared by peers.py and streams.py) ---------------------------------------------------------


class Processes:
    """Every child runs in its own session; stop() signals that process group by id, then waits, bounded."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], *, core: str, log: Path, env: dict[str, str] | None = None):
        full = ["taskset", "-c", core, *argv]
        handle = log.open("wb")
        proc = subprocess.Popen(
            full, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=str(BENCH.parent), start_new_session=True
        )
        handle.close()
        self.children.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen, timeout: float = 10.0) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        # Children that outlived their leader (uvicorn reloaders, nginx workers) are in the same group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        self.children = [(n, p) for n, p in self.children if p is not proc]

    def stop_all(self) -> None:
        for _, proc in list(reversed(self.children)):
            self.stop(proc, timeout=5)


def http_status(port: int, path: str, timeout: float = 1.0) -> int | None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n".encode())
            data = sock.recv(64)
        return int(data[9:12]) if data.startswith(b"HTTP/1.") else None
    except (OSError, ValueError):
        return None


def wait_ready(proc: subprocess.Popen, port: int, path: str, started: float, timeout: float) -> float:
    """Seconds from ``started`` to the first 200 on ``path``; raises if the process dies or time runs out."""
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before answering {path}")
        if http_status(port, path) == 200:
            return time.perf_counter() - started
        time.sleep(0.005)
    raise RuntimeError(f"no 200 on {path} within {timeout}s")


def stat_fields(pid: int | str) -> list[str]:
    """``/proc/<pid>/stat`` after the command name: state, ppid, ... (field 3 of proc(5) is index 0)."""
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            parents.setdefault(int(stat_fields(entry)[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time used so far by ``pid`` and its descendants."""
    user, system = cpu_split(pid)
    return user + system


def cpu_split(pid: int) -> tuple[float, float]:
    """User and system CPU time used so far by ``pid`` and its descendants, apart."""
    user = system = 0
    for member in descendants(pid):
        try:
            fields = stat_fields(member)
            user += int(fields[11])
            system += int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    tick = os.sysconf("SC_CLK_TCK")
    return user / tick, system / tick


def memory_mb(pid: int) -> dict[str, float]:
    """Peak (VmHWM) and current (VmRSS) resident memory of ``pid`` and its descendants, summed, in MB."""
    hwm = rss = 0
    for member in descendants(pid):
        try:
            with open(f"/proc/{member}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        hwm += int(line.split()[1])
                    elif line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
        except OSError:
            continue
    return {"peak_rss_mb": round(hwm / 1024, 1), "rss_mb": round(rss / 1024, 1)}


# -- peers --------------------------------------------------------------------------------------------------


def nginx_config(prefix: Path, port: int, upstream: int, *, streaming: bool = False, connections: int = 4096) -> str:
    """One worker, ``proxy_pass`` to a keep-alive upstream block; ``streaming`` turns response buffering off (what
    an SSE relay needs) and sizes the worker for ``connections`` sockets (each stream holds two)."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "\n".join(
        f"  {kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    buffering = "      proxy_buffering off;\n      proxy_read_timeout 300s;\n" if streaming else ""
    return f"""{user}worker_processes 1;
worker_rlimit_nofile {max(8192, connections * 2 + 1024)};
daemon off;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections {connections}; }}
http {{
  access_log off;
{temps}
  upstream fake {{ server 127.0.0.1:{upstream}; keepalive 128; }}
  server {{
    listen 127.0.0.1:{port} reuseport backlog=4096;
    location = /health {{ return 200 "ok"; }}
    location /anthropic/ {{
      proxy_pass http://fake/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
{buffering}    }}
  }}
}}
"""


def start_nginx(
    procs: Processes, work: Path, upstream: int, *, core: str, streaming: bool = False, connections: int = 4096
) -> tuple[subprocess.Popen, int, float]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    prefix = work / f"nginx-{port}"
    prefix.mkdir(exist_ok=True)
    config = prefix / "nginx.conf"
    config.write_text(
        nginx_config(prefix, port, upstream, streaming=streaming, connections=connections), encoding="utf-8"
    )
    started = time.perf_counter()
    argv = [nginx, "-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")]
    proc = procs.start("nginx", argv, core=core, log=work / "nginx.log")
    ready = wait_ready(proc, port, "/health", started, 15)
    return proc, port, ready


def ensure_litellm(quick: bool) -> Path | None:
    exe = LITELLM_VENV / "bin" / "litellm"
    if exe.exists():
        return exe
    if quick:
        print("LiteLLM not installed; --quick skips it", flush=True)
        return None
    print(f"installing {LITELLM_PIN} into {LITELLM_VENV} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True, timeout=120)
    subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "-q", LITELLM_PIN], check=True, timeout=900)
    return exe if exe.exists() else None


def start_litellm(
    procs: Processes, exe: Path, work: Path, upstream: int, *, core: str
) -> tuple[subprocess.Popen, int, float]:
    port = free_port()
    config = work / "litellm.yaml"
    config.write_text(
        f"""model_list:
  - model_name: claude-bench
    litellm_params:
      model: anthropic/claude-bench
      api_base: http://127.0.0.1:{upstream}
      api_key: bench-anthropic-key
  - model_name: gpt-bench
    litellm_params:
      model: openai/gpt-bench
      api_base: http://127.0.0.1:{upstream}/v1
      api_key: bench-openai-key
litellm_settings:
  use_chat_completions_url_for_anthropic_messages: true
  callbacks: []
  success_callback: []
  failure_callback: []
  set_verbose: false
  drop_params: true
general_settings:
  disable_spend_logs: true
""",
        encoding="utf-8",
    )
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")},
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_TELEMETRY": "False",
        "LITELLM_LOG": "ERROR",
        "NO_DOCS": "True",
        # No master key, like FinOps in open mode: LiteLLM 1.108 refuses that unless told it is intended.
        "LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY": "true",
    }
    started = time.perf_counter()
    proc = procs.start(
        "litellm",
        [str(exe), "--config", str(config), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"],
        core=core,
        log=work / "litellm.log",
        env=env,
    )
    ready = wait_ready(proc, port, "/health/liveliness", started, 180)
    return proc, port, ready


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError):
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    versions = {}
    for tool, argv in {"wrk": ["wrk", "-v"], "nginx": ["nginx", "-v"]}.items():
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            out = subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False)
            versions[tool] = (out.stdout + out.stderr).strip().splitlines()[0]
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "tools": versions,
    }


# -- wrk ---------------------------------------------------------------------------------------------------

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {{\\"requests\\":%d,\\"duration_us\\":%d,\\"p50_us\\":%d,\\"p90_us\\":%d,\\"p99_us\\":%d," ..
    "\\"p999_us\\":%d,\\"max_us\\":%d,\\"errors\\":%d}}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def lua_string(data: bytes) -> str:
    return '"' + "".join(f"\\{byte}" if chr(byte) in '"\\\n\r' else chr(byte) for byte in data) + '"'


def run_wrk(
    work: Path, port: int, path: str, headers: dict[str, str], body: bytes, seconds: float, conns: int, *, core: str
) -> dict[str, Any]:
    script = work / f"wrk-{port}-{abs(hash((path, body)))}.lua"
    header_lines = "\n".join(
        f"wrk.headers[{lua_string(k.encode())}] = {lua_string(v.encode())}" for k, v in headers.items()
    )
    script.write_text(WRK_SCRIPT.format(body=lua_string(body), headers=header_lines), encoding="utf-8")
    argv = ["taskset", "-c", core, "wrk", "-t1", f"-c{conns}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    argv += ["-s", str(script), f"http://127.0.0.1:{port}{path}"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("WRKJSON "):
            raw = json.loads(line[8:])
            secs = raw["duration_us"] / 1e6
            return {
                "mode": "fixed-concurrency",
                "tool": f"wrk -t1 -c{conns}",
                "requests": raw["requests"],
                "rps": round((raw["requests"] - raw["errors"]) / secs, 1),
                "errors": raw["errors"],
                "p50_ms": raw["p50_us"] / 1000,
                "p90_ms": raw["p90_us"] / 1000,
                "p99_ms": raw["p99_us"] / 1000,
                "p999_ms": raw["p999_us"] / 1000,
                "max_ms": raw["max_us"] / 1000,
            }
    raise RuntimeError(f"wrk gave no result: {out.stdout[-500:]} {out.stderr[-500:]}")
