"""Issue 13 items 7, 9, 11 and 13 at the gateway's edges: which Host may shape ``results_url``, a dependency that
stops answering (PostgreSQL behind a black-holed proxy, Redis on a closed port), the keep-alive connection after
an unhandled error, IDs echoed in 404s and who may read per-key metrics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest
from sqlalchemy.engine import make_url

from finops.app import create_app
from finops.config import parse_settings
from finops.providers.registry import ProviderRegistry
from tests.conftest import UPSTREAM_KEY
from tests.support.anthropic_api import assert_envelope, wait_ended
from tests.support.emulator import EmulatorHandle
from tests.support.gateway import running_gateway
from tests.support.governance import ADMIN_KEY, create_key, governance_section, governed_gateway, params, wait_for
from tests.support.servers import free_port, serve_in_thread
from tests.support.tcp_proxy import black_hole_proxy

BATCH = {"requests": [{"custom_id": "one", "params": params()}]}
CALLER = {"x-api-key": "caller-key", "anthropic-version": "2023-06-01"}


def providers_for(emulator: EmulatorHandle) -> dict[str, Any]:
    return {"anthropic": {"api_key": UPSTREAM_KEY, "base_url": emulator.base_url}}


# Item 7: results_url ---------------------------------------------------------------------------------------------


def test_a_foreign_host_never_shapes_results_url(anthropic_emulator: EmulatorHandle, sqlite_url: str) -> None:
    with running_gateway(providers_for(anthropic_emulator), sqlite_url) as base:
        client = httpx.Client(base_url=f"{base}/anthropic", headers=CALLER, timeout=30)
        before = anthropic_emulator.request_count()
        refused = client.post("/v1/messages/batches", json=BATCH, headers={"host": "evil.example:8443"})
        assert_envelope(refused, 400, "invalid_request_error", "server.public_url")
        assert "evil.example" in refused.json()["error"]["message"]
        assert anthropic_emulator.request_count() == before, "a refused batch must not be created upstream"

        created = client.post("/v1/messages/batches", json=BATCH)
        assert created.status_code == 200, created.text
        ended = wait_ended(client, created.json()["id"], headers=CALLER)
        assert ended["results_url"].startswith(f"{base}/anthropic/v1/messages/batches/")
        for path in (f"/v1/messages/batches/{ended['id']}", "/v1/messages/batches"):
            assert_envelope(client.get(path, headers={"host": "evil.example"}), 400, "invalid_request_error")
        localhost = client.get(f"/v1/messages/batches/{ended['id']}", headers={"host": "localhost:9"}).json()
        assert localhost["results_url"].startswith("http://localhost:9/anthropic/")

        # The official SDK follows results_url with the caller's key: it reaches this gateway, nowhere else.
        sdk = anthropic.Anthropic(base_url=f"{base}/anthropic", api_key="caller-key")
        assert [result.custom_id for result in sdk.messages.batches.results(ended["id"])] == ["one"]


def test_public_url_and_allowed_hosts_are_the_operators_say(
    anthropic_emulator: EmulatorHandle, sqlite_url: str
) -> None:
    server = {"public_url": "https://gateway.example.com/", "allowed_hosts": ["api.example.com"]}
    with running_gateway(providers_for(anthropic_emulator), sqlite_url, server=server) as base:
        client = httpx.Client(base_url=f"{base}/anthropic", headers=CALLER, timeout=30)
        created = client.post("/v1/messages/batches", json=BATCH, headers={"host": "evil.example"}).json()
        ended = wait_ended(client, created["id"], headers=CALLER)
        assert (
            ended["results_url"] == f"https://gateway.example.com/anthropic/v1/messages/batches/{created['id']}/results"
        )

    with running_gateway(
        providers_for(anthropic_emulator), sqlite_url, server={"allowed_hosts": ["api.example.com"]}
    ) as base:
        client = httpx.Client(base_url=f"{base}/anthropic", headers=CALLER, timeout=30)
        listed = client.get("/v1/messages/batches", headers={"host": "API.example.com:8443"})
        assert listed.status_code == 200, listed.text
        assert listed.json()["data"][0]["results_url"].lower().startswith("http://api.example.com:8443/anthropic/")
        # Listed hosts replace the defaults: the loopback names are allowed only when listed.
        assert_envelope(client.get("/v1/messages/batches", headers={"host": "localhost"}), 400, "invalid_request_error")


# Item 13: keep-alive after an unhandled error; IDs in 404s; /metrics ----------------------------------------------


def test_the_connection_survives_an_unhandled_error(anthropic_emulator: EmulatorHandle, sqlite_url: str) -> None:
    settings = parse_settings({"providers": providers_for(anthropic_emulator), "database": {"url": sqlite_url}})
    registry = ProviderRegistry.from_settings(settings.providers)

    async def broken(body: Any, ctx: Any) -> Any:
        raise RuntimeError("a bug in the count_tokens path")

    adapter: Any = registry.get("anthropic")
    adapter.count_tokens = broken  # the hook: a real bug would look the same
    with serve_in_thread(create_app(settings, providers=registry)) as base, httpx.Client(timeout=30) as client:
        failed = client.post(f"{base}/anthropic/v1/messages/count_tokens", headers=CALLER, json=params())
        assert_envelope(failed, 500, "api_error", "Internal server error")
        assert "count_tokens path" not in failed.text
        first = failed.extensions["network_stream"].get_extra_info("client_addr")
        answered = client.post(f"{base}/anthropic/v1/messages", headers=CALLER, json=params())
        assert answered.status_code == 200, answered.text
        assert answered.extensions["network_stream"].get_extra_info("client_addr") == first, "a new connection"


def test_odd_ids_are_not_echoed_raw(anthropic_gateway: str) -> None:
    client = httpx.Client(base_url=anthropic_gateway, headers=CALLER, timeout=30)
    for path in ("/v1/files/", "/v1/messages/batches/", "/v1/files/{}/content"):
        long = client.get(path.format("file_" + "x" * 5000) if "{}" in path else path + "x" * 5000)
        message = assert_envelope(long, 404, "not_found_error")["error"]["message"]
        assert len(message) < 200, message
        nul = client.get(path.format("file_%00%1b[31m") if "{}" in path else path + "a%00b%1b[31m")
        message = assert_envelope(nul, 404, "not_found_error")["error"]["message"]
        assert "\x00" not in message and "\x1b" not in message and "\\x00" in message, message


def scraped(base: str, needle: str, headers: dict[str, str] | None = None) -> str | None:
    """``/metrics`` once it shows ``needle`` (usage reaches the counters behind the answer)."""
    text = httpx.get(f"{base}/metrics", headers=headers).text
    return text if needle in text else None


def test_metrics_without_a_token_show_no_key_names(anthropic_emulator: EmulatorHandle, sqlite_url: str) -> None:
    with governed_gateway(anthropic_emulator, sqlite_url) as base:
        key = create_key(base, "secret-project-name")
        sdk = anthropic.Anthropic(base_url=f"{base}/anthropic", api_key=key["key"])
        sdk.messages.create(**params())
        text = wait_for(lambda: scraped(base, "finops_cost_usd_total{"))
        assert "secret-project-name" not in text and 'key="' not in text
        assert 'finops_cost_usd_total{model="claude-3-sonnet-20240229",provider="anthropic"}' in text


def test_metrics_with_a_token_need_it(anthropic_emulator: EmulatorHandle, sqlite_url: str) -> None:
    with governed_gateway(anthropic_emulator, sqlite_url, metrics_token="scrape-token-0123") as base:
        key = create_key(base, "team-a")
        anthropic.Anthropic(base_url=f"{base}/anthropic", api_key=key["key"]).messages.create(**params())
        assert_envelope(httpx.get(f"{base}/metrics"), 401, "authentication_error", "metrics_token")
        wrong = httpx.get(f"{base}/metrics", headers={"authorization": f"Bearer {ADMIN_KEY}"})
        assert_envelope(wrong, 401, "authentication_error")
        scrape = {"authorization": "Bearer scrape-token-0123"}
        text = wait_for(lambda: scraped(base, 'key="team-a"', scrape))
        assert 'finops_cost_usd_total{key="team-a"' in text


# Items 9 and 11: dependencies that do not answer ------------------------------------------------------------------


def test_rate_limits_with_redis_down_fall_back_per_process(anthropic_emulator: EmulatorHandle, sqlite_url: str) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    with governed_gateway(anthropic_emulator, sqlite_url, redis_url=closed) as base:
        key = create_key(base, "limited", rpm=2)
        client = httpx.Client(base_url=f"{base}/anthropic", headers={"x-api-key": key["key"]}, timeout=30)
        statuses = [client.post("/v1/messages", json=params()).status_code for _ in range(3)]
        assert statuses == [200, 200, 429], statuses  # the limit still holds, counted in this process
        text = httpx.get(f"{base}/metrics").text
        failures = [
            line for line in text.splitlines() if line.startswith('finops_redis_failures_total{use="ratelimit"}')
        ]
        assert failures and float(failures[0].rsplit(" ", 1)[1]) >= 1, text


@pytest.fixture
def proxied_postgres(postgres_url: str) -> Iterator[tuple[str, Any]]:
    url = make_url(postgres_url)
    with black_hole_proxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        yield url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False), proxy


@pytest.mark.postgres
def test_a_black_holed_database_is_a_fast_503(
    anthropic_emulator: EmulatorHandle, proxied_postgres: tuple[str, Any]
) -> None:
    database_url, proxy = proxied_postgres
    limits = {"connect_timeout_seconds": 1, "statement_timeout_seconds": 1, "pool_timeout_seconds": 1}
    settings = {
        "providers": providers_for(anthropic_emulator),
        "database": {"url": database_url, **limits},
        "governance": governance_section(),
    }
    app = create_app(parse_settings(settings))
    # The client's timeout is the bound the gateway must answer within: its configured timeouts plus slack.
    with serve_in_thread(app) as base, httpx.Client(base_url=base, headers=CALLER, timeout=15) as client:
        assert client.get("/anthropic/v1/files").status_code == 200
        assert client.get("/health/ready").json() == {"status": "ready", "database": "ok"}

        proxy.black_hole.set()
        unavailable = client.get("/anthropic/v1/files")
        assert_envelope(unavailable, 503, "api_error", "unavailable")
        assert unavailable.headers["retry-after"] == "5"
        assert client.get("/health").status_code == 200  # liveness: the process itself is fine
        assert_envelope(client.get("/health/ready"), 503, "api_error", "database")

        proxy.black_hole.clear()
        wait_for(lambda: client.get("/anthropic/v1/files").status_code == 200)
        assert client.get("/health/ready").status_code == 200
