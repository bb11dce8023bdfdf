"""``finops serve`` as a process: start-up with a config file, graceful shutdown on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.support.demo import FINOPS, wait_healthy
from tests.support.emulator import EmulatorHandle
from tests.support.servers import free_port

BODY = {"model": "claude-3-sonnet-20240229", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}


def test_sigterm_lets_in_flight_requests_finish(anthropic_emulator: EmulatorHandle, tmp_path: Path) -> None:
    config = tmp_path / "finops.yaml"
    config.write_text(
        f"database: {{url: 'sqlite+aiosqlite:///{tmp_path}/g.db'}}\n"
        "providers:\n"
        f"  anthropic: {{api_key: env.FINOPS_TEST_UPSTREAM_KEY, base_url: '{anthropic_emulator.base_url}'}}\n"
    )
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [str(FINOPS), "serve", "--config", str(config), "--port", str(port)],
            env={"FINOPS_TEST_UPSTREAM_KEY": "upstream-key", "PATH": str(Path(sys.executable).parent)},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, process, log)

    anthropic_emulator.fail_next(0, path_prefix="/v1/messages", delay_seconds=1.5)
    outcome: dict[str, httpx.Response] = {}

    def slow_call() -> None:
        outcome["response"] = httpx.post(
            f"{url}/anthropic/v1/messages", headers={"x-api-key": "k"}, json=BODY, timeout=30
        )

    caller = threading.Thread(target=slow_call)
    caller.start()
    time.sleep(0.5)  # the request is now waiting on the upstream
    process.send_signal(signal.SIGTERM)
    caller.join(timeout=30)
    # Uvicorn drains, runs the lifespan shutdown, then re-raises the signal it caught, so the exit status
    # says "ended by SIGTERM" rather than 0; what matters is that it ended on its own, promptly.
    assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    assert outcome["response"].status_code == 200, outcome["response"].text
    assert outcome["response"].json()["type"] == "message"


def test_count_tokens_and_models_through_the_gateway(anthropic_gateway: str) -> None:
    headers = {"x-api-key": "k"}
    counted = httpx.post(
        f"{anthropic_gateway}/v1/messages/count_tokens",
        headers=headers,
        json={k: BODY[k] for k in ("model", "messages")},
    )
    assert counted.status_code == 200 and counted.json()["input_tokens"] > 0
    models = httpx.get(f"{anthropic_gateway}/v1/models", headers=headers).json()
    assert "claude-3-sonnet-20240229" in [model["id"] for model in models["data"]]
    one = httpx.get(f"{anthropic_gateway}/v1/models/claude-3-sonnet-20240229", headers=headers)
    assert one.status_code == 200 and one.json()["id"] == "claude-3-sonnet-20240229"
    missing = httpx.get(f"{anthropic_gateway}/v1/models/no-such-model", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"
