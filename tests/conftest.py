"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import scratch_postgres_database
from tests.support.emulator import EmulatorHandle
from tests.support.gateway import running_gateway
from tests.support.servers import serve_in_thread

POSTGRES_URL = os.environ.get("FINOPS_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("FINOPS_TEST_REDIS_URL")
UPSTREAM_KEY = "sk-ant-upstream-secret-0123456789"


@pytest.fixture(scope="session", autouse=True)
def _journal_state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Gateways on PostgreSQL keep their usage journal under ``$XDG_STATE_HOME`` (``finops.governance.journal``):
    the test session's own, not the home directory of whoever runs the tests. Gateway processes inherit it."""
    previous = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))
    yield
    if previous is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = previous


def _database_params() -> list:
    skip_pg = pytest.mark.skip(reason="FINOPS_TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=[] if POSTGRES_URL else [skip_pg]),
    ]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test session's own, created on the configured server and dropped after.

    The configured database is shared with whatever ran before (CI runs against the services as the last
    session left them), so tests never migrate or fill it directly.
    """
    if not POSTGRES_URL:
        pytest.skip("FINOPS_TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    with scratch_postgres_database(POSTGRES_URL, "finops_test") as url:
        yield url


@pytest.fixture(params=_database_params())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every store-touching test runs on SQLite and, when configured, on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'finops.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'finops.db'}"


@pytest.fixture(scope="module")
def anthropic_emulator() -> Iterator[EmulatorHandle]:
    from finops.emulators.anthropic.app import create_app

    with serve_in_thread(create_app(batch_seconds=1.0)) as url:
        yield EmulatorHandle(url)


@pytest.fixture
def anthropic_gateway(anthropic_emulator: EmulatorHandle, sqlite_url: str) -> Iterator[str]:
    """Gateway in front of the Anthropic emulator; yields the client base URL (``.../anthropic``)."""
    providers = {"anthropic": {"api_key": UPSTREAM_KEY, "base_url": anthropic_emulator.base_url}}
    with running_gateway(providers, sqlite_url) as base:
        yield f"{base}/anthropic"
