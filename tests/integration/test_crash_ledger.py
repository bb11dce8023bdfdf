"""A durable ledger (issue 13 item 5): ``kill -9`` of a ``finops serve`` process under steady governed traffic
(plain and streamed messages from several clients at once, against an Anthropic emulator process) loses no
answered request's usage row. An answer counts as answered when the client has all of it (the whole JSON body, or
a stream through ``message_stop``); its ``request-id`` must then be in the ledger, exactly once, once a gateway
runs again on the same database (it replays the dead process's journal at start-up). Both ways of making a row
durable are checked: the local journal (the default) and waiting for the commit (``ledger_journal: false``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.governance import ADMIN, ADMIN_KEY, MODEL
from tests.support.processes import emulator_process, gateway_process

CLIENTS = 8
TRAFFIC_SECONDS = 3.0


def _ledger_request_ids(database: str) -> list[str]:
    async def read() -> list[str]:
        engine = create_async_engine(database)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(sa.text("SELECT request_id FROM usage_records"))
                return [row[0] for row in rows if row[0]]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _traffic(base: str, key: str, stop: threading.Event, answered: list[str], stream: bool) -> None:
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    body: dict[str, Any] = {"model": MODEL, "max_tokens": 40, "messages": [{"role": "user", "content": "Count."}]}
    with httpx.Client(base_url=f"{base}/anthropic", headers=headers, timeout=30) as client:
        while not stop.is_set():
            try:
                if stream:
                    with client.stream("POST", "/v1/messages", json={**body, "stream": True}) as response:
                        text = b"".join(response.iter_bytes())
                        if response.status_code == 200 and b"event: message_stop" in text:
                            answered.append(response.headers["request-id"])
                else:
                    response = client.post("/v1/messages", json=body)
                    if response.status_code == 200 and response.json()["type"] == "message":
                        answered.append(response.headers["request-id"])
            except (httpx.TransportError, ValueError):
                return  # the gateway is gone: whatever this client had not fully received was not answered


@pytest.mark.parametrize("journal", [True, False], ids=["journal", "commit-wait"])
def test_kill_under_traffic_loses_no_answered_request(database_url: str, tmp_path: Path, journal: bool) -> None:
    with emulator_process("anthropic") as emulator:
        settings = {
            "providers": {"anthropic": {"api_key": "upstream-key", "base_url": emulator}},
            "database": {"url": database_url},
            "governance": {"admin_key": ADMIN_KEY, "ledger_journal": journal},
        }
        with gateway_process(settings, tmp_path) as gateway:
            created = httpx.post(f"{gateway.url}/admin/keys", headers=ADMIN, json={"name": f"ledger-{tmp_path.name}"})
            key = created.json()["key"]
            stop = threading.Event()
            answered: list[str] = []
            threads = [
                threading.Thread(target=_traffic, args=(gateway.url, key, stop, answered, n % 2 == 1))
                for n in range(CLIENTS)
            ]
            for thread in threads:
                thread.start()
            time.sleep(TRAFFIC_SECONDS)
            os.kill(gateway.process.pid, signal.SIGKILL)  # mid-traffic: rows of in-flight requests are pending
            assert gateway.process.wait(timeout=30) == -9
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        assert len(answered) > 100  # steady traffic, not a handful of requests
        with gateway_process(settings, tmp_path):  # a restart on the same database and machine
            ledger = _ledger_request_ids(database_url)
    missing = set(answered) - set(ledger)
    assert missing == set(), f"{len(missing)} of {len(answered)} answered requests have no usage row"
    counted = Counter(ledger)
    assert [request for request in answered if counted[request] != 1] == []  # and none is counted twice
