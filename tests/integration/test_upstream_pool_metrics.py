"""A request that had to wait for an upstream connection shows in ``/metrics`` (issue 17): the operator's signal
that a provider's ``max_connections`` is too low."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.conftest import UPSTREAM_KEY
from tests.support.emulator import EmulatorHandle
from tests.support.gateway import running_gateway

KEY = {"x-api-key": "caller-key-a"}
ASK = {"model": "claude-3-sonnet-20240229", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}


def waits(base: str) -> float:
    exposition = httpx.get(f"{base}/metrics").text
    found = re.search(r'^finops_upstream_pool_waits_total\{provider="anthropic"\} (\S+)$', exposition, re.M)
    return float(found.group(1)) if found else 0.0


def test_a_request_waiting_for_a_free_upstream_connection_is_counted(
    anthropic_emulator: EmulatorHandle, sqlite_url: str
) -> None:
    providers = {"anthropic": {"api_key": UPSTREAM_KEY, "base_url": anthropic_emulator.base_url, "max_connections": 1}}
    with running_gateway(providers, sqlite_url) as base, ThreadPoolExecutor(2) as pool:
        before = waits(base)
        anthropic_emulator.fail_next(0, path_prefix="/v1/messages", delay_seconds=1.0)  # holds the one connection

        def ask() -> int:
            return httpx.post(f"{base}/anthropic/v1/messages", headers=KEY, json=ASK, timeout=30).status_code

        slow = pool.submit(ask)
        time.sleep(0.3)
        queued = pool.submit(ask)
        assert (slow.result(), queued.result()) == (200, 200)
        assert waits(base) - before == 1
        assert httpx.post(f"{base}/anthropic/v1/messages", headers=KEY, json=ASK, timeout=30).status_code == 200
        assert waits(base) - before == 1  # the connection was free again
