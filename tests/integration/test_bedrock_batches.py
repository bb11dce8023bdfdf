"""Bedrock batches and files on S3 (issue 16), through the official ``anthropic`` SDK (newest and 0.60.0) against a
real ``finops serve --demo``, whose Bedrock emulator serves S3 and the model-invocation-job API.

The seed's file and batch examples run with ``x-model-provider: bedrock``; a batch of 100+ requests per model runs
as a Bedrock job, a smaller part on demand (policy ``run_on_demand``, the default) or is refused (``refuse``); a
mixed-model batch becomes one job per model. Money: every succeeded request is in the ledger once, at the batch
price for job records and the on-demand price for records the gateway ran itself.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import signal
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import boto3
import httpx
import pytest

from finops.demo import DEMO_ADMIN_KEY
from finops.emulators.bedrock.app import create_app as bedrock_emulator_app
from finops.governance import pricing
from finops.governance.pricing import TokenUsage
from finops.providers.bedrock.on_demand import STALE_AFTER
from tests.integration import seed_examples as seed
from tests.integration.seed_examples import printed_id
from tests.integration.seed_examples import run_example as run
from tests.support.demo import demo_gateway
from tests.support.processes import gateway_process
from tests.support.sdk import SDK_VERSIONS, run_script
from tests.support.servers import serve_in_thread

CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NOVA = "amazon.nova-lite-v1:0"
LLAMA = "meta.llama3-1-8b-instruct-v1:0"
ADMIN = {"x-api-key": DEMO_ADMIN_KEY}
KEY_ID = "AKIAFINOPSTESTBATCH1"
SECRET = "finops-test-batch-secret"
BUCKET = "finops-batches"
ROLE = "arn:aws:iam::123456789012:role/finops-batch"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with demo_gateway(tmp_path_factory.mktemp("bedrock-batch-demo")) as url:
        yield url


def bedrock_client(gateway: str, api_key: str = "virtual-key-or-dummy-key") -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=f"{gateway}/anthropic", api_key=api_key, default_headers={"x-model-provider": "bedrock"}
    )


def request(custom_id: str, model: str, text: str) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "params": {"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": text}]},
    }


def wait_ended(client: anthropic.Anthropic, batch_id: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        batch = client.beta.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended":
            return batch
        assert time.monotonic() < deadline, batch
        time.sleep(0.5)


UPLOAD_BEDROCK = seed.UPLOAD_ANTHROPIC.replace(
    'api_key="virtual-key-or-dummy-key"\n)',
    'api_key="virtual-key-or-dummy-key",\n    default_headers={"x-model-provider": "bedrock"}\n)',
)
LIST_FILES_BEDROCK = seed.LIST_FILES_OPENAI.replace('"openai"', '"bedrock"')


@pytest.mark.parametrize("sdk", SDK_VERSIONS)
def test_seed_file_examples_on_bedrock(gateway: str, sdk: str) -> None:
    assert '"x-model-provider": "bedrock"' in UPLOAD_BEDROCK
    uploaded = run(sdk, UPLOAD_BEDROCK, gateway)
    file_id = printed_id(uploaded, "File ID")
    assert file_id.startswith("file_") and "Filename: test_upload.txt" in uploaded

    assert f"File ID: {file_id}, Name: test_upload.txt" in run(sdk, LIST_FILES_BEDROCK, gateway).splitlines()
    downloaded = run(sdk, seed.DOWNLOAD_FILE, gateway, file=file_id, provider="bedrock")
    assert downloaded == "File content:\nThis is a test file for Files API integration.\n"
    assert run(sdk, seed.DELETE_FILE, gateway, file=file_id, provider="bedrock") == f"Deleted file: {file_id}\n"
    assert file_id not in run(sdk, LIST_FILES_BEDROCK, gateway)
    with pytest.raises(anthropic.NotFoundError):
        bedrock_client(gateway).beta.files.retrieve_metadata(file_id)


def test_files_are_isolated_per_caller_and_large_ones_stream_in_parts(gateway: str, tmp_path: Path) -> None:
    owner, other = bedrock_client(gateway, "key-a"), bedrock_client(gateway, "key-b")
    big = tmp_path / "big.bin"
    pattern = bytes(range(256)) * 4096  # 1 MiB
    with big.open("wb") as handle:
        for _ in range(20):  # 20 MiB: a multipart upload of three parts
            handle.write(pattern)
    with big.open("rb") as handle:
        uploaded = owner.beta.files.upload(file=("big.bin", handle, "application/octet-stream"))
    assert uploaded.size_bytes == 20 * len(pattern)
    assert uploaded.id in [file.id for file in owner.beta.files.list()]
    assert uploaded.id not in [file.id for file in other.beta.files.list()]
    with pytest.raises(anthropic.NotFoundError):
        other.beta.files.download(uploaded.id)
    content = owner.beta.files.download(uploaded.id).read()
    assert len(content) == 20 * len(pattern) and content[: len(pattern)] == pattern
    owner.beta.files.delete(uploaded.id)


def test_a_file_referenced_in_a_message_reaches_claude(gateway: str) -> None:
    client = bedrock_client(gateway)
    uploaded = client.beta.files.upload(file=("notes.txt", b"The secret word is heliotrope.", "text/plain"))
    message = client.beta.messages.create(
        model=CLAUDE,
        max_tokens=100,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "document", "source": {"type": "file", "file_id": uploaded.id}},
                    {"type": "text", "text": "What is the secret word?"},
                ],
            }
        ],
        betas=["files-api-2025-04-14"],
    )
    assert message.content[0].type == "text"
    assert message.usage.input_tokens > 10  # the document's words were counted: it went inline


@pytest.mark.parametrize("sdk", SDK_VERSIONS)
def test_seed_batch_examples_on_bedrock(gateway: str, sdk: str) -> None:
    created = run(sdk, seed.batch_create("bedrock", CLAUDE), gateway)
    batch_id = printed_id(created, "Batch ID")
    assert batch_id.startswith("msgbatch_") and "Status: in_progress" in created

    listed = run(sdk, seed.LIST_BATCHES, gateway, provider="bedrock")
    assert f"Batch ID: {batch_id}" in listed

    workflow_code = seed.CROSS_PROVIDER_BATCH_WORKFLOW.replace('"openai"', '"bedrock"').replace("gpt-4o-mini", CLAUDE)
    workflow = run(sdk, workflow_code, gateway)
    workflow_id = printed_id(workflow, "Created batch")
    assert "status = ended" in workflow
    assert f"Success! Cross-provider batch {workflow_id} completed via Anthropic SDK." in workflow

    results = run(sdk, seed.BATCH_RESULTS, gateway, batch=workflow_id)
    assert "Custom ID: openai-request-1" in results and "Custom ID: openai-request-2" in results
    first = run(sdk, seed.BATCH_RESULTS, gateway, batch=batch_id)
    assert re.search(r"Response: 2 \+ 2 = 4\.", first), first

    ended = run(sdk, seed.RETRIEVE_BATCH, gateway, batch=batch_id, provider="bedrock")
    assert "Status: ended" in ended and "Processing: 0" in ended and "Succeeded: 2" in ended


def test_a_small_batch_says_it_ran_on_demand(gateway: str) -> None:
    client = bedrock_client(gateway)
    batch = client.beta.messages.batches.create(requests=[request("only", CLAUDE, "What is 2+2?")])
    notices = (batch.model_extra or {}).get("finops_notices")
    assert notices and "on-demand" in notices[0] and "100" in notices[0]
    wait_ended(client, batch.id)
    [result] = list(client.beta.messages.batches.results(batch.id))
    assert result.result.type == "succeeded"
    assert result.result.message.usage.service_tier == "standard"


def test_a_mixed_model_batch_runs_one_job_per_model_and_is_billed_once(gateway: str) -> None:
    # A virtual key of its own, so its spend is this batch's alone.
    key = httpx.post(f"{gateway}/admin/keys", headers=ADMIN, json={"name": "mixed-model-batch"}).json()
    client = bedrock_client(gateway, key["key"])
    requests = [request(f"claude-{i}", CLAUDE, f"What is {i}+2?") for i in range(100)]
    requests += [request(f"nova-{i}", NOVA, f"What is {i}+3?") for i in range(100)]
    requests += [request(f"llama-{i}", LLAMA, f"What is {i}+4?") for i in range(100)]  # a Converse-type job
    requests += [request(f"small-{i}", "us.anthropic.claude-3-7-sonnet-20250219-v1:0", "Hi") for i in range(3)]
    requests.append(request("bad-one", CLAUDE, "Please [emulate:validationException]"))
    batch = client.beta.messages.batches.create(requests=requests)
    assert batch.request_counts.processing == 304
    ended = wait_ended(client, batch.id)
    assert ended.request_counts.succeeded + ended.request_counts.errored == 304
    results = list(client.beta.messages.batches.results(batch.id))
    assert sorted(result.custom_id for result in results) == sorted(item["custom_id"] for item in requests)
    by_id = {result.custom_id: result.result for result in results}
    assert by_id["claude-7"].type == "succeeded" and by_id["claude-7"].message.model == CLAUDE
    assert by_id["claude-7"].message.usage.service_tier == "batch"
    assert by_id["nova-3"].type == "succeeded" and "3 + 3 = 6" in by_id["nova-3"].message.content[0].text
    assert by_id["llama-5"].type == "succeeded" and "5 + 4 = 9" in by_id["llama-5"].message.content[0].text
    assert by_id["llama-5"].message.model == LLAMA and by_id["llama-5"].message.usage.service_tier == "batch"
    assert by_id["small-0"].message.usage.service_tier == "standard"
    errored = [custom_id for custom_id, result in by_id.items() if result.type == "errored"]
    assert errored == ["bad-one"] and ended.request_counts.errored == 1

    expected = Decimal(0)
    for result in results:
        if result.result.type != "succeeded":
            continue
        message = result.result.message
        tokens = TokenUsage.from_anthropic(message.usage.model_dump())
        cost = pricing.cost("bedrock", message.model, tokens, batch=message.usage.service_tier == "batch")
        assert cost is not None
        expected += cost
    deadline = time.monotonic() + 30
    while True:
        rows = httpx.get(f"{gateway}/admin/usage", params={"group_by": "key"}, headers=ADMIN).json()["data"]
        spent = [row for row in rows if row.get("requests") == 303]
        if spent or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert spent, rows
    assert Decimal(str(spent[0]["cost_usd"])) == pytest.approx(expected, rel=Decimal("1e-6"))

    client.beta.messages.batches.delete(batch.id)
    with pytest.raises(anthropic.NotFoundError):
        client.beta.messages.batches.retrieve(batch.id)


def test_cancel_stops_the_job_and_reports_canceled_requests(gateway: str) -> None:
    client = bedrock_client(gateway)
    batch = client.beta.messages.batches.create(
        requests=[request(f"c-{i}", CLAUDE, f"What is {i}+1?") for i in range(150)]
    )
    canceled = client.beta.messages.batches.cancel(batch.id)
    assert canceled.processing_status in ("canceling", "ended") and canceled.cancel_initiated_at is not None
    ended = wait_ended(client, batch.id)
    assert ended.request_counts.canceled == 150
    results = list(client.beta.messages.batches.results(batch.id))
    assert len(results) == 150 and {result.result.type for result in results} == {"canceled"}


# -- a gateway process of our own, on an emulator in this process (policy refuse, kill -9) ----------------------


class HoldJobCreates:
    """ASGI wrapper around the Bedrock emulator: once ``hold`` is set, a call to ``held_path`` (by default
    CreateModelInvocationJob) is carried out but its answer is held back (``created`` is set), so the gateway can be
    killed after the upstream acted and before it learned so (a job exists, its ARN never arrived)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.hold = threading.Event()
        self.created = threading.Event()
        self.held_path = "/model-invocation-job"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        creating = (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].endswith(self.held_path)
            and self.hold.is_set()
        )
        if not creating:
            await self.app(scope, receive, send)
            return

        async def held(message: Any) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.created.set()
                while self.hold.is_set():  # the gateway is killed meanwhile
                    await asyncio.sleep(0.05)
            await send(message)

        await self.app(scope, receive, held)


@pytest.fixture
def bedrock_emulator() -> Iterator[tuple[str, HoldJobCreates]]:
    app = HoldJobCreates(
        bedrock_emulator_app(
            access_key_id=KEY_ID, secret_access_key=SECRET, buckets=[BUCKET], batch_seconds=30.0, min_batch_records=100
        )
    )
    with serve_in_thread(app) as url:
        yield url, app


def bedrock_settings(url: str, tmp_path: Path, **batch: Any) -> dict[str, Any]:
    section = {"s3_bucket": BUCKET, "role_arn": ROLE, "s3_url": url, "control_url": url, **batch}
    return {
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'finops.db'}"},
        "providers": {
            "bedrock": {
                "region": "us-east-1",
                "base_url": url,
                "access_key_id": KEY_ID,
                "secret_access_key": SECRET,
                "batch": section,
            }
        },
    }


def aws_clients(url: str) -> tuple[Any, Any]:
    options = {
        "endpoint_url": url,
        "region_name": "us-east-1",
        "aws_access_key_id": KEY_ID,
        "aws_secret_access_key": SECRET,
    }
    return boto3.client("bedrock", **options), boto3.client("s3", **options)


@pytest.mark.parametrize("sdk", SDK_VERSIONS)
def test_refuse_policy_answers_400_below_the_minimum(
    bedrock_emulator: tuple[str, HoldJobCreates], tmp_path: Path, sdk: str
) -> None:
    url, _ = bedrock_emulator
    settings = bedrock_settings(url, tmp_path, min_records_policy="refuse")
    with gateway_process(settings, tmp_path) as gateway:
        code = seed.render(seed.batch_create("bedrock", CLAUDE), gateway.url).replace(
            "batch = client.beta.messages.batches.create(requests=batch_requests)",
            "try:\n    client.beta.messages.batches.create(requests=batch_requests)\n"
            "except anthropic.BadRequestError as exc:\n    print(exc.status_code, exc.body['error']['message'])\n"
            "    raise SystemExit(0)\nraise SystemExit('not refused')",
        )
        completed = run_script(sdk, code)
        assert completed.returncode == 0, completed.stdout + completed.stderr
        assert completed.stdout.startswith("400 Bedrock batch inference needs at least 100 requests per model")
        assert f"has 2 for {CLAUDE}" in completed.stdout and "min_records_policy is refuse" in completed.stdout
        # Nothing was written and no job was made.
        bedrock, s3 = aws_clients(url)
        assert bedrock.list_model_invocation_jobs()["invocationJobSummaries"] == []
        assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
        # A part of 100 still runs as a job under the same policy.
        client = bedrock_client(gateway.url)
        batch = client.beta.messages.batches.create(requests=[request(f"r-{i}", CLAUDE, "Hi") for i in range(100)])
        assert not (batch.model_extra or {}).get("finops_notices")
        [job] = bedrock.list_model_invocation_jobs()["invocationJobSummaries"]
        # Named after the create's intent (recovery finds it by that) and the batch it belongs to.
        assert job["jobName"].startswith("finops-")
        assert job["jobName"].endswith("-" + batch.id.removeprefix("msgbatch_") + "-p1")


def test_a_job_created_by_a_gateway_killed_before_its_row_is_stopped_at_restart(
    bedrock_emulator: tuple[str, HoldJobCreates], tmp_path: Path
) -> None:
    url, emulator = bedrock_emulator
    settings = bedrock_settings(url, tmp_path)
    bedrock, s3 = aws_clients(url)
    with gateway_process(settings, tmp_path) as gateway:
        emulator.hold.set()
        client = bedrock_client(gateway.url).with_options(max_retries=0, timeout=60)
        requests = [request(f"r-{i}", CLAUDE, "Hi") for i in range(100)]
        creating = threading.Thread(
            target=_quietly, args=(lambda: client.beta.messages.batches.create(requests=requests),), daemon=True
        )
        creating.start()
        assert emulator.created.wait(30), "the gateway never created the job"
        gateway.process.send_signal(signal.SIGKILL)
        gateway.process.wait(10)
    emulator.hold.clear()
    [job] = bedrock.list_model_invocation_jobs()["invocationJobSummaries"]
    assert job["jobName"].startswith("finops-") and job["status"] not in ("Stopping", "Stopped")
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="finops/batches/")["KeyCount"] == 1  # the job's input

    with gateway_process(settings, tmp_path) as gateway:
        deadline = time.monotonic() + 30
        while bedrock.get_model_invocation_job(jobIdentifier=job["jobArn"])["status"] not in ("Stopping", "Stopped"):
            assert time.monotonic() < deadline, "the orphaned job was not stopped"
            time.sleep(0.2)
        while s3.list_objects_v2(Bucket=BUCKET, Prefix="finops/batches/")["KeyCount"]:
            assert time.monotonic() < deadline, "the orphaned job's objects were not deleted"
            time.sleep(0.2)
        # The caller never got the batch, and it costs nothing.
        assert list(bedrock_client(gateway.url).beta.messages.batches.list()) == []


def _quietly(call: Any) -> None:
    with contextlib.suppress(Exception):
        call()


def test_a_file_reaches_nova_as_s3_location_and_claude_inline(
    bedrock_emulator: tuple[str, HoldJobCreates], tmp_path: Path
) -> None:
    url, _ = bedrock_emulator
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
    with gateway_process(bedrock_settings(url, tmp_path), tmp_path) as gateway:
        client = bedrock_client(gateway.url)
        uploaded = client.beta.files.upload(file=("dot.png", png, "image/png"))
        content = [
            {"type": "image", "source": {"type": "file", "file_id": uploaded.id}},
            {"type": "text", "text": "What is in the picture?"},
        ]
        for model in (NOVA, CLAUDE):
            answer = client.beta.messages.create(
                model=model,
                max_tokens=50,
                messages=[{"role": "user", "content": content}],
                betas=["files-api-2025-04-14"],
            )
            assert answer.content[0].type == "text"
        seen = httpx.get(f"{url}/_emulator/requests").json()["requests"]
        nova = next(item for item in seen if item["path"].endswith("/converse"))["json"]
        claude = next(item for item in seen if item["path"].endswith("/invoke"))["json"]
        image = nova["messages"][0]["content"][0]["image"]
        assert image["format"] == "png"
        assert image["source"]["s3Location"]["uri"].startswith(f"s3://{BUCKET}/finops/files/finops-")
        source = claude["messages"][0]["content"][0]["source"]
        assert source == {"type": "base64", "media_type": "image/png", "data": base64.b64encode(png).decode()}
        assert uploaded.id not in str(seen)  # the gateway's file ID never goes upstream


def test_an_on_demand_part_whose_gateway_died_is_run_again_and_billed_once(
    bedrock_emulator: tuple[str, HoldJobCreates], tmp_path: Path
) -> None:
    url, emulator = bedrock_emulator
    settings = {**bedrock_settings(url, tmp_path), "governance": {"admin_key": "admin-for-this-test"}}
    emulator.held_path = "/invoke"  # the on-demand run's InvokeModel calls
    requests = [request(f"od-{i}", CLAUDE, f"What is {i}+5?") for i in range(2)]
    with gateway_process(settings, tmp_path) as gateway:
        emulator.hold.set()
        batch = bedrock_client(gateway.url).beta.messages.batches.create(requests=requests)
        assert emulator.created.wait(30), "the on-demand run never called Bedrock"
        gateway.process.send_signal(signal.SIGKILL)
        gateway.process.wait(10)
    emulator.hold.clear()

    with gateway_process(settings, tmp_path) as gateway:
        client = bedrock_client(gateway.url)
        # The heartbeat is fresh, but it names a process of this machine that is gone: the part runs again here at
        # once, not after the minute it takes a heartbeat to go stale (what a runner on another host needs).
        ended = wait_ended(client, batch.id, timeout=STALE_AFTER.total_seconds() * 0.75)
        assert ended.request_counts.succeeded == 2
        results = {line.custom_id: line.result for line in client.beta.messages.batches.results(batch.id)}
        assert results["od-1"].type == "succeeded" and "1 + 5 = 6" in results["od-1"].message.content[0].text
        admin = {"x-api-key": "admin-for-this-test"}
        deadline = time.monotonic() + 30
        while True:
            rows = httpx.get(f"{gateway.url}/admin/usage", params={"group_by": "model"}, headers=admin).json()
            if rows["total"]["requests"] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert rows["total"]["requests"] == 2, rows  # billed once, by the reconciler, at the on-demand price
        tokens = [TokenUsage.from_anthropic(result.message.usage.model_dump()) for result in results.values()]
        expected = sum((pricing.cost("bedrock", CLAUDE, usage) or Decimal(0) for usage in tokens), Decimal(0))
        assert Decimal(str(rows["total"]["cost_usd"])) == pytest.approx(expected, rel=Decimal("1e-6"))


def test_a_file_uploaded_by_a_gateway_killed_before_its_row_is_deleted_at_restart(
    bedrock_emulator: tuple[str, HoldJobCreates], tmp_path: Path
) -> None:
    url, _ = bedrock_emulator
    settings = bedrock_settings(url, tmp_path)
    _, s3 = aws_clients(url)
    with gateway_process(settings, tmp_path, env={"FINOPS_FAULT_POINT": "create.after_upstream"}) as doomed:
        client = bedrock_client(doomed.url).with_options(max_retries=0)
        with pytest.raises(anthropic.APIConnectionError):
            client.beta.files.upload(file=("notes.txt", b"kept nowhere", "text/plain"))
        assert doomed.process.wait(timeout=30) == -9
    [stored] = s3.list_objects_v2(Bucket=BUCKET, Prefix="finops/files/")["Contents"]
    assert stored["Key"].startswith("finops/files/finops-")  # named after the create's intent

    with gateway_process(settings, tmp_path) as gateway:
        deadline = time.monotonic() + 30
        while s3.list_objects_v2(Bucket=BUCKET, Prefix="finops/files/")["KeyCount"]:
            assert time.monotonic() < deadline, "the orphaned upload was not deleted"
            time.sleep(0.2)
        assert list(bedrock_client(gateway.url).beta.files.list()) == []
