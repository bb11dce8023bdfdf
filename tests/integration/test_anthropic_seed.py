"""Every Anthropic example of the seed, as written, through anthropic 0.60.0 and the newest SDK, against
``finops serve --demo`` (a real subprocess: the README's first command)."""

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
from tests.support.sdk import SDK_VERSIONS, run_script


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with demo_gateway(tmp_path_factory.mktemp("demo")) as url:
        yield url


@pytest.mark.parametrize("sdk", SDK_VERSIONS)
def test_demo_serves_every_provider(gateway: str, sdk: str) -> None:
    health = httpx.get(f"{gateway}/health").json()
    assert health["status"] == "ok" and "anthropic" in health["providers"]


@pytest.mark.parametrize("sdk", SDK_VERSIONS)
def test_files_examples(gateway: str, sdk: str) -> None:
    uploaded = run(sdk, seed.UPLOAD_ANTHROPIC, gateway)
    file_id = re.search(r"File ID: (file_\w+)", uploaded).group(1)
    assert "Filename: test_upload.txt" in uploaded

    listed = run(sdk, seed.LIST_FILES_ANTHROPIC, gateway)
    size = len(b"This is a test file for Files API integration.")
    assert f"File ID: {file_id}\nFilename: test_upload.txt\nSize: {size} bytes\n---" in listed

    deleted = run(sdk, seed.DELETE_FILE, gateway, file=file_id, provider="anthropic")
    assert f"Deleted file: {file_id}" in deleted
    assert file_id not in run(sdk, seed.LIST_FILES_ANTHROPIC, gateway)


@pytest.mark.parametrize("sdk", SDK_VERSIONS)
def test_downloading_an_uploaded_anthropic_file_is_refused_like_anthropic(gateway: str, sdk: str) -> None:
    file_id = re.search(r"File ID: (file_\w+)", run(sdk, seed.UPLOAD_ANTHROPIC, gateway)).group(1)
    result = run_script(sdk, seed.render(seed.DOWNLOAD_FILE, gateway, file=file_id, provider="anthropic"))
    assert result.returncode != 0
    assert "BadRequestError" in result.stderr or "FileNotDownloadableError" in result.stderr
    assert "not downloadable" in result.stderr


@pytest.mark.parametrize("sdk", SDK_VERSIONS)
def test_batch_examples(gateway: str, sdk: str) -> None:
    created = run(sdk, seed.batch_create(None, "claude-3-sonnet-20240229"), gateway)
    batch_id = re.search(r"Batch ID: (msgbatch_\w+)", created).group(1)
    assert "Status: in_progress" in created

    listed = run(sdk, seed.LIST_BATCHES, gateway, provider="anthropic")
    # The demo batch may already have ended by the time a fresh interpreter has imported the SDK.
    assert (
        f"Batch ID: {batch_id}\nStatus: in_progress\nProcessing: 2\nSucceeded: 0\nErrored: 0\n---" in listed
        or f"Batch ID: {batch_id}\nStatus: ended\nProcessing: 0\nSucceeded: 2\nErrored: 0\n---" in listed
    ), listed

    retrieved = run(sdk, seed.RETRIEVE_BATCH, gateway, batch=batch_id, provider="anthropic")
    assert f"Batch ID: {batch_id}" in retrieved and "Status: " in retrieved

    with httpx.Client(base_url=f"{gateway}/anthropic") as client:
        wait_ended(client, batch_id, headers=DEMO_KEY)
    retrieved = run(sdk, seed.RETRIEVE_BATCH, gateway, batch=batch_id, provider="anthropic")
    assert "Status: ended\nProcessing: 0\nSucceeded: 2\nErrored: 0" in retrieved

    results = run(sdk, seed.BATCH_RESULTS, gateway, batch=batch_id)
    assert "Custom ID: request-1\nResponse: 2 + 2 = 4." in results
    assert "Custom ID: request-2\nResponse: You asked: What is the capital of France?" in results


@pytest.mark.parametrize("sdk", SDK_VERSIONS)
def test_cancel_example(gateway: str, sdk: str) -> None:
    created = run(sdk, seed.batch_create(None, "claude-3-sonnet-20240229"), gateway)
    batch_id = re.search(r"Batch ID: (msgbatch_\w+)", created).group(1)
    canceled = run(sdk, seed.CANCEL_BATCH, gateway, batch=batch_id, provider="anthropic")
    assert f"Batch ID: {batch_id}" in canceled
    assert re.search(r"Status: (canceling|ended)", canceled)
    with httpx.Client(base_url=f"{gateway}/anthropic") as client:
        wait_ended(client, batch_id, headers=DEMO_KEY)
    results = run(sdk, seed.BATCH_RESULTS, gateway, batch=batch_id)
    assert results.count("Custom ID: ") == 2


@pytest.mark.parametrize("sdk", SDK_VERSIONS)
def test_anthropic_batch_workflow(gateway: str, sdk: str) -> None:
    output = run(sdk, seed.ANTHROPIC_BATCH_WORKFLOW, gateway)
    assert " Batch completed!" in output
    assert "math-question: 15 * 7 = 105." in output
    assert "geography-question: You asked: What is the largest ocean?" in output
    assert re.search(r"Success! Batch msgbatch_\w+ workflow completed\.", output)


def test_client_setup_example(gateway: str) -> None:
    code = seed.render(seed.CLIENT_SETUP_ANTHROPIC, gateway) + "\nprint(client.models.list().data[0].id)\n"
    result = run_script("newest", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("claude")


def test_workdir_holds_the_demo_database(tmp_path: Path) -> None:
    with demo_gateway(tmp_path) as url:
        assert httpx.get(f"{url}/health").status_code == 200
    assert (tmp_path / "finops-demo.db").exists()
