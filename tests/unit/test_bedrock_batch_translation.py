"""Bedrock batches and files (issue 16), the pure parts: job input records, status and count mapping, output
records to Anthropic results, job names, S3 errors, and files referenced in messages."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from finops.core.errors import InvalidRequestError, NotFoundError, PermissionDeniedError, RateLimitError
from finops.core.ids import new_batch_id, new_intent_key
from finops.core.params import parse_message_params
from finops.providers.bedrock.batch_plan import write_batch_parts
from finops.providers.bedrock.batch_results import from_output_record, missing_result
from finops.providers.bedrock.batch_status import PartState, merge_status, part_counts, processing_status
from finops.providers.bedrock.batches import job_name
from finops.providers.bedrock.file_sources import FileSource, reads_s3, with_file_sources
from finops.providers.bedrock.invoke import ANTHROPIC_VERSION
from finops.providers.bedrock.s3 import s3_fault
from finops.providers.bedrock.translate import plan_converse

CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NOVA = "amazon.nova-lite-v1:0"


def _request(custom_id: str, model: str, text: str = "Hi") -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "params": {"model": model, "max_tokens": 10, "messages": [{"role": "user", "content": text}]},
    }


def test_records_are_split_per_model_with_the_native_body(tmp_path: Path) -> None:
    requests = [_request("a", CLAUDE), _request("b", NOVA), _request("c", CLAUDE)]
    parts = write_batch_parts(requests, tmp_path)
    assert [(part.model, part.count) for part in parts] == [(CLAUDE, 2), (NOVA, 1)]
    claude = [orjson.loads(line) for line in parts[0].path.read_bytes().splitlines()]
    assert [record["recordId"] for record in claude] == ["a", "c"]
    body = claude[0]["modelInput"]
    assert body["anthropic_version"] == ANTHROPIC_VERSION
    assert "model" not in body and body["messages"] == [{"role": "user", "content": "Hi"}]
    nova = orjson.loads(parts[1].path.read_bytes())["modelInput"]
    assert nova["schemaVersion"] == "messages-v1"
    assert nova["messages"] == [{"role": "user", "content": [{"text": "Hi"}]}]
    assert nova["inferenceConfig"]["maxTokens"] == 10


def test_a_model_past_the_job_cap_is_split_evenly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from finops.providers.bedrock import batch_plan

    monkeypatch.setattr(batch_plan, "MAX_RECORDS_PER_JOB", 100)
    parts = write_batch_parts([_request(f"r{i}", CLAUDE) for i in range(203)], tmp_path)
    assert [part.count for part in parts] == [68, 68, 67]  # not 100, 100 and a tail of 3


def test_families_without_a_native_body_run_as_converse_jobs(tmp_path: Path) -> None:
    llama = "meta.llama3-1-8b-instruct-v1:0"
    [part] = write_batch_parts([_request("a", llama)], tmp_path)
    assert part.invocation == "Converse"
    record = orjson.loads(part.path.read_bytes())
    assert record["modelInput"]["messages"] == [{"role": "user", "content": [{"text": "Hi"}]}]
    assert "schemaVersion" not in record["modelInput"]
    assert [part.invocation for part in write_batch_parts([_request("b", CLAUDE)], tmp_path)] == ["InvokeModel"]


def test_a_request_bedrock_cannot_express_names_its_index(tmp_path: Path) -> None:
    document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}}
    bad = {
        "custom_id": "b",
        "params": {**_request("b", NOVA)["params"], "messages": [{"role": "user", "content": [document]}]},
    }
    with pytest.raises(InvalidRequestError, match=r"^requests\.1\.params\."):
        write_batch_parts([_request("a", CLAUDE), bad], tmp_path)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Submitted", "in_progress"),
        ("Validating", "in_progress"),
        ("Scheduled", "in_progress"),
        ("InProgress", "in_progress"),
        ("Stopping", "canceling"),
        ("Completed", "ended"),
        ("PartiallyCompleted", "ended"),
        ("Failed", "ended"),
        ("Stopped", "ended"),
        ("Expired", "ended"),
        ("SomethingNew", "in_progress"),
    ],
)
def test_job_status_maps_to_processing_status(status: str, expected: str) -> None:
    assert processing_status(status) == expected


MANIFEST = {"successRecordCount": 90, "errorRecordCount": 4}


@dataclass(frozen=True)
class CountCase:
    id: str
    state: PartState
    cancel_requested: bool
    expected: dict[str, int]


COUNT_CASES = [
    CountCase("running", PartState("InProgress"), False, {"processing": 100}),
    CountCase("completed", PartState("Completed", MANIFEST), False, {"succeeded": 90, "errored": 10}),
    CountCase("stopped", PartState("Stopped", MANIFEST), True, {"succeeded": 90, "errored": 4, "canceled": 6}),
    CountCase(
        "timed out", PartState("PartiallyCompleted", MANIFEST), False, {"succeeded": 90, "errored": 4, "expired": 6}
    ),
    CountCase("expired", PartState("Expired"), False, {"expired": 100}),
    CountCase("failed validation", PartState("Failed", message="bad input"), False, {"errored": 100}),
    CountCase(
        "a manifest counting too many", PartState("Completed", {"successRecordCount": 500}), False, {"succeeded": 100}
    ),
]


@pytest.mark.parametrize("case", COUNT_CASES, ids=lambda case: case.id)
def test_part_counts_always_sum_to_the_part(case: CountCase) -> None:
    counts = part_counts(100, case.state, case.cancel_requested)
    assert {key: value for key, value in counts.items() if value} == case.expected
    assert sum(counts.values()) == 100


def test_a_batch_ends_only_when_every_part_has_ended() -> None:
    running = merge_status([100, 5], [PartState("Completed", MANIFEST), PartState("InProgress")], False)
    assert running.processing_status == "in_progress"
    assert running.request_counts["processing"] == 105
    ended = merge_status(
        [100, 5], [PartState("Completed", MANIFEST), PartState("Completed", {"successRecordCount": 5})], False
    )
    assert ended.processing_status == "ended"
    assert dict(ended.request_counts) == {"processing": 0, "succeeded": 95, "errored": 10, "canceled": 0, "expired": 0}
    canceling = merge_status([100], [PartState("Stopping")], True)
    assert canceling.processing_status == "canceling"


def test_an_output_record_becomes_a_succeeded_result_priced_as_batch() -> None:
    output = {
        "id": "msg_bdrk_upstream",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": "4"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 9, "output_tokens": 1},
    }
    record = {"recordId": "r-1", "modelInput": {}, "modelOutput": output}
    result = from_output_record(record, model=CLAUDE, shapes={}, service_tier="batch")
    message = result["result"]["message"]
    assert result["custom_id"] == "r-1" and result["result"]["type"] == "succeeded"
    assert message["model"] == CLAUDE and message["content"] == [{"type": "text", "text": "4"}]
    assert message["id"].startswith("msg_") and "bdrk" not in message["id"]  # no upstream ID reaches the caller
    assert message["usage"]["service_tier"] == "batch" and message["usage"]["cache_read_input_tokens"] == 0


def test_a_nova_output_record_is_read_as_a_converse_answer() -> None:
    output = {
        "output": {"message": {"role": "assistant", "content": [{"text": "7"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 9, "outputTokens": 1, "totalTokens": 10},
    }
    result = from_output_record({"recordId": "n", "modelOutput": output}, model=NOVA, shapes={}, service_tier="batch")
    message = result["result"]["message"]
    assert message["content"] == [{"type": "text", "text": "7"}]
    assert message["usage"]["input_tokens"] == 9 and message["usage"]["output_tokens"] == 1


@pytest.mark.parametrize(
    ("code", "error_type"),
    [(400, "invalid_request_error"), (429, "rate_limit_error"), (500, "api_error"), ("x", "api_error")],
)
def test_an_errored_record_keeps_its_kind(code: Any, error_type: str) -> None:
    record = {"recordId": "r", "error": {"errorCode": code, "errorMessage": "no"}}
    result = from_output_record(record, model=CLAUDE, shapes={}, service_tier="batch")["result"]
    assert result["type"] == "errored"
    assert result["error"]["error"] == {"type": error_type, "message": "Bedrock: no"}


@pytest.mark.parametrize(
    ("state", "cancel_requested", "kind"),
    [
        (PartState("Stopped"), False, "canceled"),
        (PartState("Completed"), True, "canceled"),
        (PartState("Expired"), False, "expired"),
        (PartState("PartiallyCompleted"), False, "expired"),
        (PartState("Failed", message="Batch job contains less records (3)"), False, "errored"),
    ],
)
def test_a_record_without_output_gets_the_verdict_the_counts_give(
    state: PartState, cancel_requested: bool, kind: str
) -> None:
    result = missing_result("r", state, cancel_requested)["result"]
    assert result["type"] == kind
    if kind == "errored" and state.message:
        assert state.message in result["error"]["error"]["message"]


def test_job_names_carry_the_intent_key_and_the_batch_id_and_fit_bedrock() -> None:
    import re

    key, batch_id = new_intent_key(), new_batch_id()
    name = job_name(key, batch_id, 2)
    assert name == f"{key}-{batch_id.removeprefix('msgbatch_')}-p2"
    assert len(name) <= 63 and re.fullmatch(r"[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\+\-\.]){0,63}", name)


@pytest.mark.parametrize(
    ("status", "body", "error_class"),
    [
        (
            404,
            b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>",
            NotFoundError,
        ),
        (503, b"<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>", RateLimitError),
        (403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>", PermissionDeniedError),
        (403, b"", PermissionDeniedError),
    ],
)
def test_s3_errors_map_to_the_gateway_tree(status: int, body: bytes, error_class: type) -> None:
    fault = s3_fault(status, body)
    assert fault.error_class is error_class
    assert fault.credentials_rejected == (error_class is PermissionDeniedError)


def _with_file(model: str, block_type: str, source: FileSource) -> dict[str, Any]:
    body = {
        "model": model,
        "max_tokens": 10,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": block_type, "source": {"type": "file", "file_id": "finops/files/k"}},
                    {"type": "text", "text": "Describe it"},
                ],
            }
        ],
    }
    return with_file_sources(body, {"finops/files/k": source})


def test_nova_reads_a_file_from_s3() -> None:
    assert reads_s3(NOVA) and reads_s3("us.amazon.nova-2-lite-v1:0") and not reads_s3(CLAUDE)
    body = _with_file(NOVA, "image", FileSource("image/png", "s3://bucket/finops/files/k"))
    request = plan_converse(parse_message_params(body)).request
    block = request["messages"][0]["content"][0]
    assert block == {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://bucket/finops/files/k"}}}}
    document = _with_file(NOVA, "document", FileSource("application/pdf", "s3://bucket/finops/files/k"))
    request = plan_converse(parse_message_params(document)).request
    assert request["messages"][0]["content"][0]["document"]["source"] == {
        "s3Location": {"uri": "s3://bucket/finops/files/k"}
    }


def test_other_families_get_the_bytes_inline() -> None:
    image = _with_file(CLAUDE, "image", FileSource("image/png", "s3://b/k", b"\x89PNG"))
    assert image["messages"][0]["content"][0]["source"] == {
        "type": "base64",
        "media_type": "image/png",
        "data": base64.b64encode(b"\x89PNG").decode(),
    }
    text = _with_file(CLAUDE, "document", FileSource("text/plain", "s3://b/k", b"hello"))
    assert text["messages"][0]["content"][0]["source"] == {"type": "text", "media_type": "text/plain", "data": "hello"}
    assert text["messages"][0]["content"][1] == {"type": "text", "text": "Describe it"}
