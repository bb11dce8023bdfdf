"""Bedrock batch inference on the emulator, driven by boto3's own ``bedrock`` and ``s3`` clients.

A job is what a gateway sees on AWS: JSONL uploaded to S3, CreateModelInvocationJob, GetModelInvocationJob
polled through the statuses, then ``<output>/<job id>/<input file>.out`` and ``manifest.json.out`` read back
from S3. Control-plane answers are checked member by member against botocore's ``bedrock`` shapes as they
came off the wire (``_assert_shape``), since botocore's parser would silently drop unknown members.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.session
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from finops.emulators.bedrock.app import create_app
from tests.support.servers import free_port, serve_in_thread

ACCESS_KEY = "AKIATESTBATCHJOBS"
SECRET_KEY = "test-batch-secret"
BUCKET = "batch-io"
ROLE = "arn:aws:iam::123456789012:role/BedrockBatch"
CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NOVA = "us.amazon.nova-lite-v1:0"
LLAMA = "meta.llama3-1-8b-instruct-v1:0"
BEDROCK_MODEL = botocore.session.get_session().get_service_model("bedrock")
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})
ARN = re.compile(r"^arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/([a-z0-9]{12})$")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    app = create_app(
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        buckets=[BUCKET],
        batch_seconds=0.6,
        min_batch_records=100,
    )
    with serve_in_thread(app) as url:
        yield url


def _clients(url: str, secret: str = SECRET_KEY) -> tuple[Any, Any]:
    options = {
        "region_name": "us-east-1",
        "endpoint_url": url,
        "aws_access_key_id": ACCESS_KEY,
        "aws_secret_access_key": secret,
        "config": NO_RETRIES,
    }
    return boto3.client("bedrock", **options), boto3.client("s3", **options)


@pytest.fixture
def bedrock(base_url: str) -> Any:
    return _clients(base_url)[0]


@pytest.fixture
def s3(base_url: str) -> Any:
    return _clients(base_url)[1]


def _claude_record(index: int, prompt: str | None = None) -> dict[str, Any]:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": prompt or f"What is {index} * 3?"}],
    }
    return {"recordId": f"rec{index:05d}", "modelInput": body}


def _upload(s3: Any, key: str, records: list[dict[str, Any]]) -> str:
    s3.put_object(Bucket=BUCKET, Key=key, Body="\n".join(json.dumps(r) for r in records).encode() + b"\n")
    return f"s3://{BUCKET}/{key}"


def _create(bedrock: Any, name: str, input_uri: str, output: str = "results/", **extra: Any) -> str:
    answer = bedrock.create_model_invocation_job(
        jobName=name,
        roleArn=ROLE,
        modelId=extra.pop("modelId", CLAUDE),
        inputDataConfig={"s3InputDataConfig": {"s3Uri": input_uri, "s3InputFormat": "JSONL"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/{output}"}},
        **extra,
    )
    arn: str = answer["jobArn"]
    return arn


def _wait(
    bedrock: Any, arn: str, until: Callable[[dict[str, Any]], bool], timeout: float = 20
) -> tuple[dict[str, Any], list[str]]:
    """Poll until ``until(job)``; return the job and every status seen on the way."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        job = bedrock.get_model_invocation_job(jobIdentifier=arn)
        if not seen or seen[-1] != job["status"]:
            seen.append(job["status"])
        if until(job):
            return job, seen
        assert time.monotonic() < deadline, f"job stuck: {seen}"
        time.sleep(0.02)


def _finished(job: dict[str, Any]) -> bool:
    return job["status"] in ("Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired")


def _read_lines(s3: Any, key: str) -> list[dict[str, Any]]:
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines() if line]


def _keys(s3: Any, prefix: str) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def _assert_shape(value: Any, shape: Any, where: str = "$") -> None:
    """Check ``value`` (parsed wire JSON) against a botocore shape: members, required keys, types, enums."""
    if shape.type_name == "structure":
        assert isinstance(value, dict), where
        unknown = set(value) - set(shape.members)
        assert not unknown, f"{where}: members not in {shape.name}: {unknown}"
        for name in shape.required_members:
            assert name in value, f"{where}: {shape.name} requires {name}"
        if shape.is_tagged_union:
            assert len(value) == 1, f"{where}: union {shape.name} must set exactly one member"
        for name, item in value.items():
            _assert_shape(item, shape.members[name], f"{where}.{name}")
    elif shape.type_name == "list":
        assert isinstance(value, list), where
        for index, item in enumerate(value):
            _assert_shape(item, shape.member, f"{where}[{index}]")
    elif shape.type_name in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), where
    elif shape.type_name == "timestamp":
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", value), f"{where}: {value!r}"
    elif shape.type_name == "string":
        assert isinstance(value, str), where
        if shape.enum:
            assert value in shape.enum, f"{where}: {value!r} not in {shape.enum}"
        if shape.metadata.get("pattern"):
            assert re.fullmatch(shape.metadata["pattern"], value), f"{where}: {value!r} !~ {shape.metadata['pattern']}"


def _wire(client: Any, operation: str) -> list[Any]:
    bodies: list[Any] = []
    client.meta.events.register(
        f"after-call.bedrock.{operation}", lambda http_response, **_: bodies.append(json.loads(http_response.content))
    )
    return bodies


# --- the whole lifecycle --------------------------------------------------------------------------------------


def test_job_lifecycle_from_s3_to_s3(bedrock: Any, s3: Any) -> None:
    records = [_claude_record(i) for i in range(100)]
    records.insert(
        10, {"recordId": "broken", "modelInput": {"anthropic_version": "bedrock-2023-05-31", "messages": []}}
    )
    records.insert(20, _claude_record(999, "Please fail [emulate:throttlingException]"))
    input_uri = _upload(s3, "inputs/lifecycle/batch.jsonl", records)
    created_wire = _wire(bedrock, "CreateModelInvocationJob")
    got_wire = _wire(bedrock, "GetModelInvocationJob")

    arn = _create(bedrock, "lifecycle-job", input_uri, "results/", tags=[{"key": "batch", "value": "msgbatch_1"}])
    job, seen = _wait(bedrock, arn, _finished)

    match = ARN.match(arn)
    assert match, arn
    job_id = match.group(1)
    assert seen[0] in ("Submitted", "Validating")
    assert "InProgress" in seen
    assert seen[-1] == "Completed"
    assert job["jobArn"] == arn
    assert job["jobName"] == "lifecycle-job"
    assert job["modelId"] == CLAUDE
    assert job["roleArn"] == ROLE
    assert job["modelInvocationType"] == "InvokeModel"
    assert job["inputDataConfig"] == {"s3InputDataConfig": {"s3Uri": input_uri, "s3InputFormat": "JSONL"}}
    assert (job["totalRecordCount"], job["processedRecordCount"]) == (102, 102)
    assert (job["successRecordCount"], job["errorRecordCount"]) == (100, 2)
    assert job["endTime"] >= job["submitTime"]
    assert job["timeoutDurationInHours"] == 168
    assert job["jobExpirationTime"] - job["submitTime"] == datetime.timedelta(hours=168)
    assert bedrock.get_model_invocation_job(jobIdentifier=job_id)["jobArn"] == arn  # the ID alone works too
    _assert_shape(created_wire[0], BEDROCK_MODEL.operation_model("CreateModelInvocationJob").output_shape)
    for body in got_wire:
        _assert_shape(body, BEDROCK_MODEL.operation_model("GetModelInvocationJob").output_shape)

    assert sorted(_keys(s3, "results/")) == [f"results/{job_id}/batch.jsonl.out", f"results/{job_id}/manifest.json.out"]
    lines = _read_lines(s3, f"results/{job_id}/batch.jsonl.out")
    assert [line["recordId"] for line in lines] == [record["recordId"] for record in records]
    assert [line["modelInput"] for line in lines] == [record["modelInput"] for record in records]
    by_id = {line["recordId"]: line for line in lines}
    answer = by_id["rec00007"]["modelOutput"]
    assert set(by_id["rec00007"]) == {"recordId", "modelInput", "modelOutput"}
    assert answer["type"] == "message" and answer["role"] == "assistant"
    assert "7 * 3 = 21" in answer["content"][0]["text"]
    assert answer["model"] == "claude-3-5-sonnet-20240620"
    assert set(by_id["broken"]) == {"recordId", "modelInput", "error"}
    assert by_id["broken"]["error"]["errorCode"] == 400
    assert by_id["broken"]["error"]["errorMessage"].startswith("Malformed input request")
    assert by_id["rec00999"]["error"]["errorCode"] == 429
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"results/{job_id}/manifest.json.out")["Body"].read())
    usages = [line["modelOutput"]["usage"] for line in lines if "modelOutput" in line]
    assert manifest == {
        "totalRecordCount": 102,
        "processedRecordCount": 102,
        "successRecordCount": 100,
        "errorRecordCount": 2,
        "inputTokenCount": sum(u["input_tokens"] for u in usages),
        "outputTokenCount": sum(u["output_tokens"] for u in usages),
    }


def test_counts_grow_while_in_progress(s3: Any) -> None:
    app = create_app(access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY, buckets=[BUCKET], batch_seconds=2.0)
    with serve_in_thread(app) as url:
        bedrock, s3 = _clients(url)
        arn = _create(bedrock, "growing", _upload(s3, "in/growing.jsonl", [_claude_record(i) for i in range(150)]))
        during, _ = _wait(
            bedrock, arn, lambda job: job["status"] == "InProgress" and 0 < job["processedRecordCount"] < 150
        )
        done, _ = _wait(bedrock, arn, _finished)

    assert during["totalRecordCount"] == 150
    assert during["successRecordCount"] + during["errorRecordCount"] == during["processedRecordCount"]
    assert done["processedRecordCount"] == 150


def test_input_folder_with_several_files(bedrock: Any, s3: Any) -> None:
    _upload(s3, "inputs/folder/part-a.jsonl", [_claude_record(i) for i in range(60)])
    _upload(s3, "inputs/folder/part-b.jsonl", [_claude_record(i) for i in range(60, 120)])
    s3.put_object(Bucket=BUCKET, Key="inputs/folder/README.txt", Body=b"not a record file")

    arn = _create(bedrock, "folder-job", f"s3://{BUCKET}/inputs/folder/", "folder-results")
    job, _ = _wait(bedrock, arn, _finished)

    job_id = arn.rsplit("/", 1)[1]
    assert job["status"] == "Completed"
    assert job["totalRecordCount"] == 120
    assert sorted(_keys(s3, f"folder-results/{job_id}/")) == [
        f"folder-results/{job_id}/manifest.json.out",
        f"folder-results/{job_id}/part-a.jsonl.out",
        f"folder-results/{job_id}/part-b.jsonl.out",
    ]
    assert len(_read_lines(s3, f"folder-results/{job_id}/part-b.jsonl.out")) == 60


def test_nova_invoke_model_output_is_novas_native_response(bedrock: Any, s3: Any) -> None:
    records = [
        {
            "recordId": f"nova{i}",
            "modelInput": {
                "schemaVersion": "messages-v1",
                "system": [{"text": "Be brief."}],
                "messages": [{"role": "user", "content": [{"text": f"What is {i} + 1?"}]}],
                "inferenceConfig": {"maxTokens": 50},
            },
        }
        for i in range(100)
    ]

    arn = _create(bedrock, "nova-job", _upload(s3, "inputs/nova.jsonl", records), "nova-results", modelId=NOVA)
    job, _ = _wait(bedrock, arn, _finished)

    assert job["status"] == "Completed"
    output = _read_lines(s3, f"nova-results/{arn.rsplit('/', 1)[1]}/nova.jsonl.out")[4]["modelOutput"]
    assert set(output) == {"output", "stopReason", "usage"}
    assert output["output"]["message"]["role"] == "assistant"
    assert "4 + 1 = 5" in output["output"]["message"]["content"][0]["text"]
    assert output["stopReason"] == "end_turn"
    assert output["usage"]["totalTokens"] == output["usage"]["inputTokens"] + output["usage"]["outputTokens"]


def test_converse_jobs_answer_with_the_converse_response(bedrock: Any, s3: Any) -> None:
    records = [
        {
            "recordId": f"c{i}",
            "modelInput": {"messages": [{"role": "user", "content": [{"text": f"What is {i} * 2?"}]}]},
        }
        for i in range(100)
    ]

    arn = _create(
        bedrock,
        "converse-job",
        _upload(s3, "inputs/converse.jsonl", records),
        "conv",
        modelId=LLAMA,
        modelInvocationType="Converse",
    )
    job, _ = _wait(bedrock, arn, _finished)

    assert job["modelInvocationType"] == "Converse"
    assert job["status"] == "Completed"
    output = _read_lines(s3, f"conv/{arn.rsplit('/', 1)[1]}/converse.jsonl.out")[9]["modelOutput"]
    assert set(output) >= {"output", "stopReason", "usage", "metrics"}
    assert "9 * 2 = 18" in output["output"]["message"]["content"][0]["text"]


def test_invoke_model_jobs_on_a_family_the_emulator_cannot_answer_natively_are_refused(bedrock: Any) -> None:
    with pytest.raises(bedrock.exceptions.ValidationException) as caught:
        _create(bedrock, "llama-invoke", f"s3://{BUCKET}/whatever.jsonl", modelId=LLAMA)

    assert "Converse" in caught.value.response["Error"]["Message"]


# --- validation failures ----------------------------------------------------------------------------------------


def test_below_the_minimum_record_count_fails_validation(bedrock: Any, s3: Any) -> None:
    arn = _create(
        bedrock, "too-small", _upload(s3, "inputs/small.jsonl", [_claude_record(i) for i in range(3)]), "small"
    )

    job, seen = _wait(bedrock, arn, _finished)

    assert job["status"] == "Failed"
    assert "InProgress" not in seen
    assert job["message"] == "Batch job contains less records (3) than the required minimum of: 100"
    assert _keys(s3, f"small/{arn.rsplit('/', 1)[1]}/") == []


def test_minimum_is_configurable() -> None:
    app = create_app(
        access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY, buckets=[BUCKET], batch_seconds=0.3, min_batch_records=2
    )
    with serve_in_thread(app) as url:
        bedrock, s3 = _clients(url)
        ok = _create(bedrock, "two-records", _upload(s3, "in/two.jsonl", [_claude_record(1), _claude_record(2)]))
        small = _create(bedrock, "one-record", _upload(s3, "in/one.jsonl", [_claude_record(1)]))
        assert _wait(bedrock, ok, _finished)[0]["status"] == "Completed"
        failed = _wait(bedrock, small, _finished)[0]

    assert failed["message"] == "Batch job contains less records (1) than the required minimum of: 2"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"recordId": "a", "modelInput": {}}\nnot json\n', "not valid JSON"),
        (b'{"recordId": "a", "modelInput": "text"}\n', "modelInput object"),
    ],
)
def test_malformed_jsonl_fails_validation(bedrock: Any, s3: Any, body: bytes, message: str) -> None:
    s3.put_object(Bucket=BUCKET, Key="inputs/malformed.jsonl", Body=body * 60)

    job, _ = _wait(
        bedrock, _create(bedrock, f"malformed-{len(body)}", f"s3://{BUCKET}/inputs/malformed.jsonl"), _finished
    )

    assert job["status"] == "Failed"
    assert message in job["message"]


def test_missing_input_fails_the_job(bedrock: Any) -> None:
    job, _ = _wait(bedrock, _create(bedrock, "no-input", f"s3://{BUCKET}/inputs/does-not-exist.jsonl"), _finished)

    assert job["status"] == "Failed"
    assert "No JSONL input" in job["message"]


# --- stop -------------------------------------------------------------------------------------------------------


def test_stop_while_in_progress_writes_partial_output() -> None:
    app = create_app(access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY, buckets=[BUCKET], batch_seconds=3.0)
    with serve_in_thread(app) as url:
        bedrock, s3 = _clients(url)
        arn = _create(
            bedrock, "to-stop", _upload(s3, "in/stop.jsonl", [_claude_record(i) for i in range(200)]), "stopped"
        )
        _wait(bedrock, arn, lambda job: job["status"] == "InProgress" and job["processedRecordCount"] >= 10)

        answer = bedrock.stop_model_invocation_job(jobIdentifier=arn)
        right_after = bedrock.get_model_invocation_job(jobIdentifier=arn)["status"]
        job, _ = _wait(bedrock, arn, _finished)
        job_id = arn.rsplit("/", 1)[1]
        lines = _read_lines(s3, f"stopped/{job_id}/stop.jsonl.out")
        manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"stopped/{job_id}/manifest.json.out")["Body"].read())

    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert right_after in ("Stopping", "Stopped")
    assert job["status"] == "Stopped"
    assert 10 <= len(lines) < 200
    assert [line["recordId"] for line in lines] == [f"rec{i:05d}" for i in range(len(lines))]
    assert manifest["totalRecordCount"] == 200
    assert manifest["processedRecordCount"] == job["processedRecordCount"] == len(lines)


def test_stop_before_the_job_starts_writes_nothing() -> None:
    app = create_app(access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY, buckets=[BUCKET], batch_seconds=5.0)
    with serve_in_thread(app) as url:
        bedrock, s3 = _clients(url)
        arn = _create(
            bedrock, "early-stop", _upload(s3, "in/early.jsonl", [_claude_record(i) for i in range(100)]), "early"
        )
        bedrock.stop_model_invocation_job(jobIdentifier=arn)
        job, _ = _wait(bedrock, arn, _finished)
        written = _keys(s3, "early/")

    assert job["status"] == "Stopped"
    assert "endTime" in job
    assert written == []


def test_a_finished_job_cannot_be_stopped(bedrock: Any, s3: Any) -> None:
    arn = _create(bedrock, "done-then-stop", _upload(s3, "inputs/done.jsonl", [_claude_record(i) for i in range(100)]))
    _wait(bedrock, arn, _finished)

    with pytest.raises(bedrock.exceptions.ValidationException) as caught:
        bedrock.stop_model_invocation_job(jobIdentifier=arn)

    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# --- test hooks for the rarer end states ------------------------------------------------------------------------


def test_timeout_marker_ends_partially_completed(bedrock: Any, s3: Any) -> None:
    records = [_claude_record(i) for i in range(100)]
    records[60] = _claude_record(60, "this one runs out of time [emulate:jobTimeout]")

    job, _ = _wait(
        bedrock, _create(bedrock, "times-out", _upload(s3, "inputs/timeout.jsonl", records), "timeout"), _finished
    )

    assert job["status"] == "PartiallyCompleted"
    assert (job["totalRecordCount"], job["processedRecordCount"]) == (100, 60)
    assert len(_read_lines(s3, f"timeout/{job['jobArn'].rsplit('/', 1)[1]}/timeout.jsonl.out")) == 60


def test_expired_marker_ends_expired_without_output(bedrock: Any, s3: Any) -> None:
    records = [_claude_record(i) for i in range(100)]
    records[0] = _claude_record(0, "never scheduled [emulate:jobExpired]")

    job, seen = _wait(
        bedrock, _create(bedrock, "expires", _upload(s3, "inputs/expired.jsonl", records), "expired"), _finished
    )

    assert job["status"] == "Expired"
    assert "InProgress" not in seen
    assert _keys(s3, "expired/") == []


# --- idempotency and names --------------------------------------------------------------------------------------


def test_client_request_token_makes_create_idempotent(bedrock: Any, s3: Any) -> None:
    input_uri = _upload(s3, "inputs/idem.jsonl", [_claude_record(i) for i in range(100)])

    first = _create(bedrock, "idempotent", input_uri, clientRequestToken="finops-batch-123")
    again = _create(bedrock, "idempotent", input_uri, clientRequestToken="finops-batch-123")
    listed = bedrock.list_model_invocation_jobs(nameContains="idempotent")["invocationJobSummaries"]

    assert again == first
    assert [job["jobArn"] for job in listed] == [first]
    assert listed[0]["clientRequestToken"] == "finops-batch-123"
    with pytest.raises(bedrock.exceptions.ConflictException) as caught:
        _create(bedrock, "idempotent", input_uri, "elsewhere/", clientRequestToken="finops-batch-123")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_job_name_in_use_is_refused(bedrock: Any, s3: Any) -> None:
    input_uri = _upload(s3, "inputs/name.jsonl", [_claude_record(i) for i in range(100)])
    _create(bedrock, "same-name", input_uri)

    with pytest.raises(bedrock.exceptions.ValidationException) as caught:
        _create(bedrock, "same-name", input_uri)

    assert caught.value.response["Error"]["Message"] == "The provided job name is currently in use."


# --- list -------------------------------------------------------------------------------------------------------


def test_list_filters_sorts_and_pages() -> None:
    app = create_app(access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY, buckets=[BUCKET], batch_seconds=0.3)
    with serve_in_thread(app) as url:
        bedrock, s3 = _clients(url)
        good = _upload(s3, "in/list.jsonl", [_claude_record(i) for i in range(100)])
        small = _upload(s3, "in/list-small.jsonl", [_claude_record(1)])
        arns = [_create(bedrock, f"team-a-{i}", good) for i in range(3)]
        time.sleep(0.01)
        middle = datetime.datetime.now(datetime.UTC)
        time.sleep(0.01)
        arns += [_create(bedrock, "team-b-0", small), _create(bedrock, "team-b-1", good)]
        for arn in arns:
            _wait(bedrock, arn, _finished)
        listed_wire = _wire(bedrock, "ListModelInvocationJobs")

        everything = bedrock.list_model_invocation_jobs()["invocationJobSummaries"]
        oldest_first = bedrock.list_model_invocation_jobs(sortBy="CreationTime", sortOrder="Ascending")
        team_a = bedrock.list_model_invocation_jobs(nameContains="team-a")["invocationJobSummaries"]
        failed = bedrock.list_model_invocation_jobs(statusEquals="Failed")["invocationJobSummaries"]
        after = bedrock.list_model_invocation_jobs(submitTimeAfter=middle)["invocationJobSummaries"]
        before = bedrock.list_model_invocation_jobs(submitTimeBefore=middle)["invocationJobSummaries"]
        first_page = bedrock.list_model_invocation_jobs(maxResults=2)
        second_page = bedrock.list_model_invocation_jobs(maxResults=2, nextToken=first_page["nextToken"])
        paged = [
            job["jobArn"]
            for page in bedrock.get_paginator("list_model_invocation_jobs").paginate(PaginationConfig={"PageSize": 2})
            for job in page["invocationJobSummaries"]
        ]

    assert [job["jobArn"] for job in everything] == arns[::-1]  # newest first by default
    assert [job["jobArn"] for job in oldest_first["invocationJobSummaries"]] == arns
    assert sorted(job["jobName"] for job in team_a) == ["team-a-0", "team-a-1", "team-a-2"]
    assert [job["jobName"] for job in failed] == ["team-b-0"]
    assert failed[0]["message"].startswith("Batch job contains less records (1)")
    assert sorted(job["jobName"] for job in after) == ["team-b-0", "team-b-1"]
    assert sorted(job["jobName"] for job in before) == ["team-a-0", "team-a-1", "team-a-2"]
    assert len(first_page["invocationJobSummaries"]) == 2
    assert [job["jobArn"] for job in second_page["invocationJobSummaries"]] == arns[::-1][2:4]
    assert paged == arns[::-1]
    for body in listed_wire:
        _assert_shape(body, BEDROCK_MODEL.operation_model("ListModelInvocationJobs").output_shape)


# --- errors -----------------------------------------------------------------------------------------------------


def test_unknown_and_malformed_job_identifiers(bedrock: Any) -> None:
    with pytest.raises(bedrock.exceptions.ResourceNotFoundException) as missing:
        bedrock.get_model_invocation_job(jobIdentifier="abcdefghijkl")
    with pytest.raises(bedrock.exceptions.ValidationException) as malformed:
        bedrock.get_model_invocation_job(jobIdentifier="not-a-job-id!")
    with pytest.raises(bedrock.exceptions.ResourceNotFoundException):
        bedrock.stop_model_invocation_job(
            jobIdentifier="arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefghijkl"
        )

    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert malformed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "jobIdentifier" in malformed.value.response["Error"]["Message"]


def _raw_create(url: str, body: dict[str, Any], *, secret: str = SECRET_KEY) -> httpx.Response:
    """A CreateModelInvocationJob as a gateway would send it: JSON signed with SigV4, no SDK-side checks."""
    endpoint = f"{url}/model-invocation-job"
    request = AWSRequest(
        method="POST", url=endpoint, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    SigV4Auth(Credentials(ACCESS_KEY, secret), "bedrock", "us-east-1").add_auth(request)
    return httpx.post(endpoint, content=request.body, headers=dict(request.headers))


def test_server_side_validation_reports_every_violation(base_url: str) -> None:
    response = _raw_create(
        base_url,
        {
            "jobName": "bad name!",
            "roleArn": "not-an-arn",
            "modelId": CLAUDE,
            "inputDataConfig": {"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/in.jsonl"}},
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}},
            "timeoutDurationInHours": 12,
        },
    )

    assert response.status_code == 400
    assert response.headers["x-amzn-errortype"].startswith("ValidationException")
    message = response.json()["message"]
    assert message.startswith("3 validation errors detected: ")
    assert "Value 'bad name!' at 'jobName' failed to satisfy constraint" in message
    assert "at 'roleArn'" in message
    assert (
        "Value '12' at 'timeoutDurationInHours' failed to satisfy constraint: Member must have value between 24 and 168"
        in message
    )


def test_missing_required_members_are_named(base_url: str) -> None:
    response = _raw_create(base_url, {"jobName": "x", "modelId": CLAUDE})

    assert response.status_code == 400
    message = response.json()["message"]
    assert "Value null at 'roleArn' failed to satisfy constraint: Member must not be null" in message
    assert "at 'inputDataConfig'" in message and "at 'outputDataConfig'" in message


def test_unknown_model_is_a_validation_error(bedrock: Any) -> None:
    with pytest.raises(bedrock.exceptions.ValidationException) as caught:
        _create(bedrock, "bad-model", f"s3://{BUCKET}/x.jsonl", modelId="acme.unknown-model-v1")

    assert caught.value.response["Error"]["Message"] == "The provided model identifier is invalid."


def test_wrong_signature_is_refused_by_the_control_plane(base_url: str) -> None:
    bedrock, _ = _clients(base_url, secret="not-the-secret")

    with pytest.raises(ClientError) as caught:
        bedrock.list_model_invocation_jobs()
    raw = _raw_create(base_url, {"jobName": "x"}, secret="not-the-secret")
    unsigned = httpx.get(f"{base_url}/model-invocation-jobs")

    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert "signature we calculated does not match" in caught.value.response["Error"]["Message"]
    assert raw.status_code == 403
    assert unsigned.status_code == 403
    assert unsigned.headers["x-amzn-errortype"].startswith("MissingAuthenticationTokenException")


def test_s3_signature_is_not_accepted_by_the_control_plane(base_url: str) -> None:
    endpoint = f"{base_url}/model-invocation-jobs"
    request = AWSRequest(method="GET", url=endpoint, headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(request)

    # Scoped to s3, the request is S3's: a GET of bucket "model-invocation-jobs", which does not exist.
    response = httpx.get(endpoint, headers=dict(request.headers))

    assert response.status_code == 404
    assert "<Code>NoSuchBucket</Code>" in response.text


# --- the CLI: one port for runtime, control plane and S3 ----------------------------------------------------------


def test_finops_emulate_bedrock_serves_all_three_services_on_one_port() -> None:
    port = free_port()
    command = [
        sys.executable, "-m", "finops.cli", "emulate", "bedrock", "--port", str(port),
        "--access-key-id", ACCESS_KEY, "--secret-access-key", SECRET_KEY,
        "--bucket", BUCKET, "--bucket", "second-bucket", "--batch-seconds", "0.5", "--min-batch-records", "2",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "emulator did not start"
                time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        bedrock, s3 = _clients(url)
        runtime = boto3.client(
            "bedrock-runtime",
            region_name="us-east-1",
            endpoint_url=url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=NO_RETRIES,
        )

        buckets = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
        arn = _create(bedrock, "cli-job", _upload(s3, "in/cli.jsonl", [_claude_record(1), _claude_record(2)]))
        job, _ = _wait(bedrock, arn, _finished)
        reply = runtime.converse(modelId=NOVA, messages=[{"role": "user", "content": [{"text": "What is 2 + 2?"}]}])
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert buckets == [BUCKET, "second-bucket"]
    assert job["status"] == "Completed"
    assert "2 + 2 = 4" in reply["output"]["message"]["content"][0]["text"]
