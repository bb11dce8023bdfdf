"""One ``finops serve --demo`` process for real-client tests, reached through a :class:`RecordingProxy`, with an
admin key so each client run can get a virtual key of its own and its ledger rows read back by key."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from .demo import finops_process
from .recording_proxy import Exchange, RecordingProxy, recording_proxy

_TOKEN_TOTALS = ("requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


@dataclass(frozen=True)
class VirtualKey:
    id: str
    secret: str


@dataclass
class ClientDemo:
    gateway: str
    """The gateway's own base URL (admin, metrics)."""
    proxy_url: str
    """What clients are pointed at: the recording proxy in front of the gateway."""
    proxy: RecordingProxy
    admin_key: str

    @property
    def anthropic_base_url(self) -> str:
        return f"{self.proxy_url}/anthropic"

    def _admin(self) -> dict[str, str]:
        return {"x-api-key": self.admin_key}

    def new_key(self, name: str) -> VirtualKey:
        response = httpx.post(f"{self.gateway}/admin/keys", headers=self._admin(), json={"name": name}, timeout=10)
        response.raise_for_status()
        body = response.json()
        return VirtualKey(body["id"], body["key"])

    def ledger_usage(self, key: VirtualKey, *, rows: int | None = None, wait: float = 5.0) -> dict[str, Any]:
        """The ledger's totals for ``key`` (zeros when it has no rows). With ``rows``, wait up to ``wait`` seconds
        for that many rows: a stream's row may be written just after its last byte reached the client."""
        deadline = time.monotonic() + wait
        while True:
            response = httpx.get(f"{self.gateway}/admin/usage", params={"group_by": "key"}, headers=self._admin())
            response.raise_for_status()
            found = [row for row in response.json()["data"] if row["key_id"] == key.id]
            totals = found[0] if found else dict.fromkeys(_TOKEN_TOTALS, 0)
            if rows is None or totals["requests"] >= rows or time.monotonic() > deadline:
                return totals
            time.sleep(0.1)

    def http_responses_by_class(self) -> dict[str, int]:
        """``finops_http_requests_total`` by status class, read from ``/metrics`` (every answer the gateway sent)."""
        text = httpx.get(f"{self.gateway}/metrics", timeout=10).text
        counts: dict[str, int] = {}
        for family in text_string_to_metric_families(text):
            if family.name != "finops_http_requests":
                continue
            for sample in family.samples:
                if sample.name == "finops_http_requests_total":
                    counts[sample.labels["status"]] = int(sample.value)
        return counts


def error_answers(exchanges: list[Exchange]) -> list[str]:
    return [exchange.summary() for exchange in exchanges if exchange.failed()]


def count_route(exchanges: list[Exchange], method: str, path: str, *, status: int | None = None) -> int:
    return sum(
        1
        for exchange in exchanges
        if exchange.method == method and exchange.path == path and (status is None or exchange.status == status)
    )


@contextmanager
def client_demo(workdir: Path, extra_config: str = "") -> Iterator[ClientDemo]:
    """``finops serve --demo`` with an admin key, in ``workdir`` (its SQLite file lands there). ``extra_config`` is
    YAML added to its config file: a ``providers:`` section there replaces those providers' emulators."""
    admin_key = f"admin-{secrets.token_hex(12)}"
    config = workdir / "finops-demo.yaml"
    config.write_text(f"governance: {{admin_key: '{admin_key}'}}\n{extra_config}")
    with (
        finops_process(["--demo", "--config", str(config)], workdir) as gateway,
        recording_proxy(gateway) as (proxy_url, proxy),
    ):
        yield ClientDemo(gateway, proxy_url, proxy, admin_key)
