"""The seed's OpenAI examples, as written, against a real ``finops serve --demo`` under both SDK versions.

Each example runs in its own interpreter (``run_script``) exactly as a user would paste it; only the gateway URL
and the placeholder IDs are filled in. Assertions are on what the examples print.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.integration import seed_examples as seed
from tests.integration.seed_examples import printed_id
from tests.integration.seed_examples import run_example as run
from tests.support.demo import demo_gateway
from tests.support.sdk import SDK_VERSIONS

SEED_JSONL_LINES = [
    '{"custom_id": "request-1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-4o-mini", '
    '"messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 100}}',
    '{"custom_id": "request-2", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-4o-mini", '
    '"messages": [{"role": "user", "content": "How are you?"}], "max_tokens": 100}}',
]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with demo_gateway(tmp_path_factory.mktemp("openai-demo")) as url:
        yield url


def test_demo_serves_openai(gateway: str) -> None:
    assert "openai" in httpx.get(f"{gateway}/health").json()["providers"]


@pytest.mark.parametrize("sdk", SDK_VERSIONS)
def test_seed_openai_file_examples(gateway: str, sdk: str) -> None:
    file_id = printed_id(run(sdk, seed.UPLOAD_OPENAI_JSONL, gateway), "File ID")
    assert file_id.startswith("file_")

    listed = run(sdk, seed.LIST_FILES_OPENAI, gateway)
    assert f"File ID: {file_id}, Name: batch_input.jsonl" in listed.splitlines()

    downloaded = run(sdk, seed.DOWNLOAD_FILE, gateway, file=file_id, provider="openai")
    assert downloaded == "File content:\n" + "\n".join(SEED_JSONL_LINES) + "\n"

    deleted = run(sdk, seed.DELETE_FILE, gateway, file=file_id, provider="openai")
    assert deleted == f"Deleted file: {file_id}\n"
    assert file_id not in run(sdk, seed.LIST_FILES_OPENAI, gateway)


@pytest.mark.parametrize("sdk", SDK_VERSIONS)
def test_seed_openai_batch_examples(gateway: str, sdk: str) -> None:
    created = run(sdk, seed.batch_create("openai", "gpt-4o-mini"), gateway)
    batch_id = printed_id(created, "Batch ID")
    assert batch_id.startswith("msgbatch_") and "Status: in_progress" in created

    retrieved = run(sdk, seed.RETRIEVE_BATCH, gateway, batch=batch_id, provider="openai")
    assert f"Batch ID: {batch_id}" in retrieved
    status = re.search(r"Status: (\S+)", retrieved)
    assert status and status.group(1) in ("in_progress", "ended")
    counts = [int(n) for n in re.findall(r"(?:Processing|Succeeded|Errored): (\d+)", retrieved)]
    assert len(counts) == 3 and sum(counts) == 2  # canceled/expired are 0 for a running or finished batch

    listed = run(sdk, seed.LIST_BATCHES, gateway, provider="openai")
    assert f"Batch ID: {batch_id}" in listed

    # The cross-provider workflow polls every 5 s until its batch ends; by then the first batch has ended too.
    workflow = run(sdk, seed.CROSS_PROVIDER_BATCH_WORKFLOW, gateway)
    workflow_id = printed_id(workflow, "Created batch")
    assert "Step 1: Creating batch for OpenAI provider..." in workflow
    assert " Poll 1: status = in_progress" in workflow and "status = ended" in workflow
    assert f"Success! Cross-provider batch {workflow_id} completed via Anthropic SDK." in workflow

    results = run(sdk, seed.BATCH_RESULTS, gateway, batch=workflow_id)
    assert "Custom ID: openai-request-1" in results and "Custom ID: openai-request-2" in results
    assert "Response: You asked: Explain AI in one sentence." in results
    assert "Response: You asked: What is machine learning?" in results

    first_results = run(sdk, seed.BATCH_RESULTS, gateway, batch=batch_id)
    assert re.search(r"Response: 2 \+ 2 = 4\.", first_results), first_results
    assert "Response: You asked: What is the capital of France?" in first_results

    ended = run(sdk, seed.RETRIEVE_BATCH, gateway, batch=batch_id, provider="openai")
    assert "Status: ended" in ended and "Processing: 0" in ended and "Succeeded: 2" in ended


@pytest.mark.parametrize("sdk", SDK_VERSIONS)
def test_seed_openai_cancel_example(gateway: str, sdk: str) -> None:
    batch_id = printed_id(run(sdk, seed.batch_create("openai", "gpt-4o-mini"), gateway), "Batch ID")
    canceled = run(sdk, seed.CANCEL_BATCH, gateway, batch=batch_id, provider="openai")
    assert f"Batch ID: {batch_id}" in canceled
    status = re.search(r"Status: (\S+)", canceled)
    assert status and status.group(1) in ("canceling", "ended")
