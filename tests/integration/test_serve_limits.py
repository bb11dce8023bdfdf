"""A real ``finops serve`` process at its socket: a request head past ``server.max_header_bytes`` is a 431 in the
Anthropic envelope, the connection is closed and the process does not grow with what the client sends; and
``X-Forwarded-*`` headers are believed only from ``server.trusted_proxies`` (issue 13 items 7 and 8)."""

from __future__ import annotations

import select
import socket
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.conftest import UPSTREAM_KEY
from tests.support.anthropic_api import wait_ended
from tests.support.emulator import EmulatorHandle
from tests.support.governance import params
from tests.support.processes import gateway_process

HUGE_HEADER_BYTES = 200 * 1024 * 1024
CHUNK = b"a" * (1024 * 1024)


def settings_for(emulator: EmulatorHandle, workdir: Path, **server: Any) -> dict[str, Any]:
    return {
        "providers": {"anthropic": {"api_key": UPSTREAM_KEY, "base_url": emulator.base_url}},
        "database": {"url": f"sqlite+aiosqlite:///{workdir / 'finops.db'}"},
        "server": server,
    }


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def send_huge_header(url: str) -> bytes:
    """Send a request whose one header grows towards 200 MB until the server answers; returns all it sent back
    up to its close (``recv`` returning ``b""`` is the FIN)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-huge: ")
        sent = 0
        while sent < HUGE_HEADER_BYTES:
            try:
                sock.sendall(CHUNK)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(CHUNK)
            if select.select([sock], [], [], 0)[0]:
                break  # the server answered: stop sending, as a client reading its answer would
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def test_a_huge_header_is_431_and_costs_no_memory(anthropic_emulator: EmulatorHandle, tmp_path: Path) -> None:
    with gateway_process(settings_for(anthropic_emulator, tmp_path), tmp_path) as gateway:
        assert httpx.get(f"{gateway.url}/health").status_code == 200
        before = rss_bytes(gateway.process.pid)
        answer = send_huge_header(gateway.url)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 431 "), answer[:200]
        assert b"connection: close" in head.lower()
        error = orjson.loads(body)
        assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
        assert "65536 bytes" in error["error"]["message"]
        assert error["request_id"].startswith("req_")
        assert rss_bytes(gateway.process.pid) - before < 32 * 1024 * 1024
        # Big but allowed headers still pass, and the server goes on serving.
        ok = httpx.get(f"{gateway.url}/health", headers={"x-big": "b" * 60_000})
        assert ok.status_code == 200


def test_the_header_limit_is_configurable(anthropic_emulator: EmulatorHandle, tmp_path: Path) -> None:
    settings = settings_for(anthropic_emulator, tmp_path, max_header_bytes=4096)
    with gateway_process(settings, tmp_path) as gateway:
        refused = httpx.get(f"{gateway.url}/health", headers={"x-big": "b" * 5000})
        assert refused.status_code == 431
        assert refused.json()["error"]["type"] == "invalid_request_error"
        assert httpx.get(f"{gateway.url}/health", headers={"x-big": "b" * 3000}).status_code == 200


def test_forwarded_headers_only_from_trusted_proxies(anthropic_emulator: EmulatorHandle, tmp_path: Path) -> None:
    forwarded = {"x-api-key": "caller", "x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.9"}
    with gateway_process(settings_for(anthropic_emulator, tmp_path), tmp_path) as gateway:
        client = httpx.Client(base_url=f"{gateway.url}/anthropic", headers=forwarded, timeout=30)
        created = client.post("/v1/messages/batches", json={"requests": [{"custom_id": "a", "params": params()}]})
        ended = wait_ended(client, created.json()["id"], headers=forwarded)
        assert ended["results_url"].startswith(f"{gateway.url}/anthropic/"), "loopback is not trusted by default"

    trusted = settings_for(anthropic_emulator, tmp_path, trusted_proxies=["127.0.0.1"])
    with gateway_process(trusted, tmp_path) as gateway:
        client = httpx.Client(base_url=f"{gateway.url}/anthropic", headers=forwarded, timeout=30)
        batch = client.get(f"/v1/messages/batches/{ended['id']}").json()
        assert batch["results_url"].startswith("https://127.0.0.1:"), batch["results_url"]
