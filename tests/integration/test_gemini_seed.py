"""The seed's Gemini examples, as written, through both SDK versions against a real ``finops serve --demo``.

The Files examples in the seed show Anthropic and OpenAI only; the Gemini variants add the
``default_headers={"x-model-provider": "gemini"}`` line exactly as the seed's own examples add it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration import seed_examples as seed
from tests.integration.seed_examples import run_example as run
from tests.support.anthropic_api import DEMO_KEY, wait_ended
from tests.support.demo import demo_gateway
from tests.support.sdk import SDK_VERSIONS

MODEL = "gemini-1.5-flash"
GEMINI_HEADER = ',\n    default_headers={"x-model-provider": "gemini"}\n)'


def with_gemini_header(template: str) -> str:
    """Add the provider header the way the seed's examples do (after ``api_key=...``)."""
    old = 'api_key="virtual-key-or-dummy-key"\n)'
    assert template.count(old) == 1
    return template.replace(old, 'api_key="virtual-key-or-dummy-key"' + GEMINI_HEADER)


def gemini_workflow() -> str:
    """The seed's end-to-end batch workflow, pointed at Gemini (header and model)."""
    return with_gemini_header(seed.ANTHROPIC_BATCH_WORKFLOW).replace("claude-3-sonnet-20240229", MODEL)


@pytest.fixture(scope="module")
def gateway_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("gemini-demo")
    with demo_gateway(workdir) as url:
        yield url


def printed(output: str, label: str) -> str:
    match = re.search(rf"^\s*{label}: (\S+)", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def test_demo_serves_gemini(gateway_url: str) -> None:
    assert "gemini" in httpx.get(f"{gateway_url}/health").json()["providers"]


@pytest.mark.parametrize("sdk", SDK_VERSIONS)
def test_files_upload_list_delete(sdk: str, gateway_url: str) -> None:
    uploaded = run(sdk, with_gemini_header(seed.UPLOAD_ANTHROPIC), gateway_url)
    file_id = printed(uploaded, "File ID")
    assert file_id.startswith("file_") and "Filename: test_upload.txt" in uploaded

    listed = run(sdk, with_gemini_header(seed.LIST_FILES_ANTHROPIC), gateway_url)
    assert f"File ID: {file_id}\nFilename: test_upload.txt\nSize: 46 bytes\n---" in listed

    deleted = run(sdk, seed.DELETE_FILE, gateway_url, file=file_id, provider="gemini")
    assert deleted.strip() == f"Deleted file: {file_id}"
    assert file_id not in run(sdk, with_gemini_header(seed.LIST_FILES_ANTHROPIC), gateway_url)


@pytest.mark.parametrize("sdk", SDK_VERSIONS)
def test_batch_create_list_retrieve_results(sdk: str, gateway_url: str) -> None:
    created = run(sdk, seed.batch_create("gemini", MODEL), gateway_url)
    batch_id = printed(created, "Batch ID")
    assert batch_id.startswith("msgbatch_") and "Status: in_progress" in created

    listed = run(sdk, seed.LIST_BATCHES, gateway_url, provider="gemini")
    assert f"Batch ID: {batch_id}\nStatus: " in listed and "Processing: " in listed

    retrieved = run(sdk, seed.RETRIEVE_BATCH, gateway_url, batch=batch_id, provider="gemini")
    assert f"Batch ID: {batch_id}" in retrieved
    assert re.search(r"Status: (in_progress|ended)\nProcessing: \d\nSucceeded: \d\nErrored: 0", retrieved)

    with httpx.Client(base_url=f"{gateway_url}/anthropic") as client:
        wait_ended(client, batch_id, headers=DEMO_KEY)
    ended = run(sdk, seed.RETRIEVE_BATCH, gateway_url, batch=batch_id, provider="gemini")
    assert "Status: ended\nProcessing: 0\nSucceeded: 2\nErrored: 0" in ended

    results = run(sdk, seed.BATCH_RESULTS, gateway_url, batch=batch_id)
    assert "Custom ID: request-1\nResponse: 2 + 2 = 4" in results
    assert "Custom ID: request-2\nResponse: " in results


@pytest.mark.parametrize("sdk", SDK_VERSIONS)
def test_batch_cancel(sdk: str, gateway_url: str) -> None:
    batch_id = printed(run(sdk, seed.batch_create("gemini", MODEL), gateway_url), "Batch ID")
    canceled = run(sdk, seed.CANCEL_BATCH, gateway_url, batch=batch_id, provider="gemini")
    assert f"Batch ID: {batch_id}" in canceled
    assert re.search(r"Status: (canceling|ended)", canceled)


@pytest.mark.parametrize("sdk", SDK_VERSIONS)
def test_full_batch_workflow(sdk: str, gateway_url: str) -> None:
    output = run(sdk, gemini_workflow(), gateway_url)
    assert " Batch completed!" in output and "Step 4: Getting results..." in output
    assert "math-question: " in output and "geography-question: " in output
    assert "Error" not in output and "Results not yet available" not in output
    assert re.search(r"Success! Batch msgbatch_\w+ workflow completed\.", output)
