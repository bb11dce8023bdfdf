"""Bedrock's batch-inference control plane: Create/Get/List/StopModelInvocationJob (rest-json, signing name
``bedrock``), with the request constraints, JSON shapes and errors of botocore's ``bedrock`` service model.

- ``POST /model-invocation-job`` creates a job and answers ``{"jobArn"}``; the job ID is the ARN's last part
  (12 lower-case letters and digits). A ``clientRequestToken`` seen before with the same parameters answers
  the same job (retries create nothing); with different parameters it is a ``ConflictException``. A job
  name already in use is a ``ValidationException`` (Bedrock's wording for its other job kinds).
- ``GET /model-invocation-job/{jobIdentifier}`` takes the job ID or the whole ARN (boto3 sends it
  percent-encoded).
- ``GET /model-invocation-jobs`` filters by ``nameContains``, ``statusEquals``, ``submitTimeAfter``/``Before``,
  sorts by creation time (``sortOrder``, newest first by default) and pages with ``maxResults``/``nextToken``.
- ``POST /model-invocation-job/{jobIdentifier}/stop`` moves a running job to ``Stopping`` (then ``Stopped``);
  a finished job cannot be stopped (``ValidationException``).

How jobs run is ``job_runner``'s business; what each record becomes is ``records``'.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from finops.emulators.bedrock import models
from finops.emulators.bedrock.auth import Authenticator
from finops.emulators.bedrock.errors import BedrockError, new_request_id, validation
from finops.emulators.bedrock.job_runner import STOPPABLE, Job, JobRunner, JobSettings, new_job_id
from finops.emulators.bedrock.records import supports
from finops.emulators.bedrock.routing import signed_service
from finops.emulators.bedrock.s3_store import ObjectStore
from finops.emulators.bedrock.sigv4 import credential_scope

__all__ = ["JobService", "JobSettings"]

# Constraints from the service model (botocore/data/bedrock/2023-04-20/service-2.json).
_JOB_NAME = r"[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\+\-\.]){0,63}"
_ROLE_ARN = r"arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+"
_S3_URI = r"s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?"
_TOKEN = r"[a-zA-Z0-9]{1,256}(-*[a-zA-Z0-9]){0,256}"
_TAG_TEXT = r"[a-zA-Z0-9\s._:/=+@-]*"
_IDENTIFIER = r"((arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-invocation-job/)?[a-z0-9]{12})"
_STATUSES = (
    "Submitted",
    "InProgress",
    "Completed",
    "Failed",
    "Stopping",
    "Stopped",
    "PartiallyCompleted",
    "Expired",
    "Validating",
    "Scheduled",
)
DEFAULT_TIMEOUT_HOURS = 168


def _timestamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _Violations:
    """Collects constraint failures and raises them as one ValidationException, worded as AWS words them."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, value: Any, member: str, constraint: str) -> None:
        shown = "null" if value is None else f"'{value}'"
        self.items.append(f"Value {shown} at '{member}' failed to satisfy constraint: {constraint}")

    def required(self, value: Any, member: str) -> bool:
        if value is None:
            self.add(None, member, "Member must not be null")
            return False
        return True

    def text(self, value: Any, member: str, *, pattern: str | None = None, low: int = 0, high: int = 2048) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            self.add(value, member, "Member must be a string")
            return
        if not low <= len(value) <= high:
            self.add(value, member, f"Member must have length between {low} and {high}")
        elif pattern is not None and not re.fullmatch(pattern, value):
            self.add(value, member, f"Member must satisfy regular expression pattern: {pattern}")

    def check(self) -> None:
        if self.items:
            count = len(self.items)
            noun = "error" if count == 1 else "errors"
            raise validation(f"{count} validation {noun} detected: " + "; ".join(self.items))


def _describe(job: Job) -> dict[str, Any]:
    """The GetModelInvocationJob response / a ModelInvocationJobSummary (same members)."""
    described: dict[str, Any] = {
        "jobArn": job.arn,
        "jobName": job.name,
        "modelId": job.model_id,
        "clientRequestToken": job.client_request_token,
        "roleArn": job.role_arn,
        "status": job.status,
        "message": job.message,
        "submitTime": _timestamp(job.submit_time),
        "lastModifiedTime": _timestamp(job.last_modified),
        "endTime": _timestamp(job.end_time),
        "inputDataConfig": job.input_config,
        "outputDataConfig": job.output_config,
        "vpcConfig": job.vpc_config,
        "timeoutDurationInHours": job.timeout_hours,
        "jobExpirationTime": _timestamp(job.expiration_time),
        "modelInvocationType": job.invocation_type,
        "totalRecordCount": job.total,
        "processedRecordCount": job.processed,
        "successRecordCount": job.succeeded,
        "errorRecordCount": job.errored,
    }
    return {name: value for name, value in described.items() if value is not None}


def _json(payload: Any) -> Response:
    return Response(
        orjson.dumps(payload), media_type="application/json", headers={"x-amzn-RequestId": new_request_id()}
    )


class JobService:
    """The control-plane routes and the jobs they manage (in memory, for the emulator's lifetime)."""

    def __init__(self, store: ObjectStore, authenticator: Authenticator, settings: JobSettings) -> None:
        self.authenticator = authenticator
        self.settings = settings
        self.runner = JobRunner(store, settings)
        self.jobs: dict[str, Job] = {}
        self._by_token: dict[str, Job] = {}

    def routes(self) -> list[Route]:
        return [
            Route("/model-invocation-job", self.create, methods=["POST"]),
            Route("/model-invocation-jobs", self.list, methods=["GET"]),
            Route("/model-invocation-job/{job_identifier:path}/stop", self.stop, methods=["POST"]),
            Route("/model-invocation-job/{job_identifier:path}", self.get, methods=["GET"]),
        ]

    async def shutdown(self) -> None:
        await self.runner.shutdown()

    async def _accept(self, request: Request) -> bytes:
        body = await request.body()
        self.authenticator.check(request.scope, body)
        return body

    def _region(self, request: Request) -> str:
        if signed_service(request.scope) is not None:
            scope = credential_scope(request.headers.get("authorization", ""))
            if scope:
                return scope[2]
        return self.authenticator.key.region or "us-east-1"

    def _job(self, identifier: str) -> Job:
        if not re.fullmatch(_IDENTIFIER, identifier):
            violations = _Violations()
            violations.add(
                identifier, "jobIdentifier", f"Member must satisfy regular expression pattern: {_IDENTIFIER}"
            )
            violations.check()
        job = self.jobs.get(identifier.rsplit("/", 1)[-1])
        if job is None or (identifier.startswith("arn:") and identifier != job.arn):
            raise BedrockError(
                404, f"The model invocation job {identifier} was not found.", "ResourceNotFoundException"
            )
        return job

    # --- operations ----------------------------------------------------------------------------------

    async def create(self, request: Request) -> Response:
        try:
            body = orjson.loads(await self._accept(request) or b"{}")
        except orjson.JSONDecodeError:
            raise validation("The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise validation("The request body must be a JSON object.")
        spec = self._validated(body)
        token = spec["client_request_token"]
        if token is not None and token in self._by_token:
            earlier = self._by_token[token]
            if _fingerprint(earlier) != spec:
                raise BedrockError(
                    400,
                    "The clientRequestToken was already used for a request with different parameters.",
                    "ConflictException",
                )
            return _json({"jobArn": earlier.arn})
        if any(job.name == spec["name"] for job in self.jobs.values()):
            raise validation("The provided job name is currently in use.")
        model = models.resolve(spec["model_id"])
        if not supports(model, spec["invocation_type"]):
            raise validation(
                f"The emulator runs InvokeModel batch jobs on Anthropic Claude and Amazon Nova models only; use "
                f"modelInvocationType 'Converse' for {spec['model_id']}."
            )
        job_id = new_job_id()
        arn = f"arn:aws:bedrock:{self._region(request)}:{self.settings.account_id}:model-invocation-job/{job_id}"
        job = Job(job_id=job_id, arn=arn, model=model, **spec)
        self.jobs[job_id] = job
        if token is not None:
            self._by_token[token] = job
        self.runner.start(job)
        return _json({"jobArn": arn})

    async def get(self, request: Request) -> Response:
        await self._accept(request)
        return _json(_describe(self._job(request.path_params["job_identifier"])))

    async def stop(self, request: Request) -> Response:
        await self._accept(request)
        job = self._job(request.path_params["job_identifier"])
        if job.status == "Stopping":
            return _json({})
        if job.status not in STOPPABLE:
            raise validation(f"The job {job.job_id} is {job.status} and can no longer be stopped.")
        job.move("Stopping")
        job.stop.set()
        return _json({})

    async def list(self, request: Request) -> Response:
        await self._accept(request)
        query = request.query_params
        violations = _Violations()
        status = query.get("statusEquals")
        if status is not None and status not in _STATUSES:
            violations.add(status, "statusEquals", f"Member must satisfy enum value set: [{', '.join(_STATUSES)}]")
        if query.get("sortBy") not in (None, "CreationTime"):
            violations.add(query.get("sortBy"), "sortBy", "Member must satisfy enum value set: [CreationTime]")
        order = query.get("sortOrder", "Descending")
        if order not in ("Ascending", "Descending"):
            violations.add(order, "sortOrder", "Member must satisfy enum value set: [Ascending, Descending]")
        max_results = _int_param(query.get("maxResults"), "maxResults", violations)
        after = _time_param(query.get("submitTimeAfter"), "submitTimeAfter", violations)
        before = _time_param(query.get("submitTimeBefore"), "submitTimeBefore", violations)
        violations.check()
        start = _decode_token(query.get("nextToken"))

        name = query.get("nameContains")
        found = [
            job
            for job in self.jobs.values()
            if (name is None or name in job.name)
            and (status is None or job.status == status)
            and (after is None or job.submit_time > after)
            and (before is None or job.submit_time < before)
        ]
        # Creation order breaks ties between jobs submitted in the same instant.
        order_of = {job_id: index for index, job_id in enumerate(self.jobs)}
        found.sort(key=lambda job: (job.submit_time, order_of[job.job_id]), reverse=order == "Descending")
        size = max_results or 1000
        page = found[start : start + size]
        answer: dict[str, Any] = {"invocationJobSummaries": [_describe(job) for job in page]}
        if start + size < len(found):
            answer["nextToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return _json(answer)

    # --- request validation --------------------------------------------------------------------------

    def _validated(self, body: dict[str, Any]) -> dict[str, Any]:
        """The create request's members, checked against the service model's constraints."""
        violations = _Violations()
        for member in ("jobName", "roleArn", "modelId", "inputDataConfig", "outputDataConfig"):
            violations.required(body.get(member), member)
        violations.text(body.get("jobName"), "jobName", pattern=_JOB_NAME, low=1, high=63)
        violations.text(body.get("roleArn"), "roleArn", pattern=_ROLE_ARN, high=2048)
        violations.text(body.get("modelId"), "modelId", low=1, high=2048)
        violations.text(body.get("clientRequestToken"), "clientRequestToken", pattern=_TOKEN, low=1, high=256)
        input_config = _union(body.get("inputDataConfig"), "inputDataConfig", "s3InputDataConfig", violations)
        output_config = _union(body.get("outputDataConfig"), "outputDataConfig", "s3OutputDataConfig", violations)
        if input_config is not None:
            violations.text(
                input_config.get("s3InputFormat"), "inputDataConfig.s3InputDataConfig.s3InputFormat", pattern="JSONL"
            )
        timeout = body.get("timeoutDurationInHours", DEFAULT_TIMEOUT_HOURS)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or not 24 <= timeout <= 168:
            violations.add(timeout, "timeoutDurationInHours", "Member must have value between 24 and 168")
        invocation_type = body.get("modelInvocationType", "InvokeModel")
        if invocation_type not in ("InvokeModel", "Converse"):
            violations.add(
                invocation_type, "modelInvocationType", "Member must satisfy enum value set: [InvokeModel, Converse]"
            )
        tags = body.get("tags", [])
        if not isinstance(tags, list) or len(tags) > 200:
            violations.add(tags, "tags", "Member must have length less than or equal to 200")
            tags = []
        for index, tag in enumerate(tags):
            if (
                not isinstance(tag, dict)
                or not isinstance(tag.get("key"), str)
                or not isinstance(tag.get("value"), str)
            ):
                violations.add(tag, f"tags.{index + 1}.member", "Member must have a key and a value")
                continue
            violations.text(tag["key"], f"tags.{index + 1}.member.key", pattern=_TAG_TEXT, low=1, high=128)
            violations.text(tag["value"], f"tags.{index + 1}.member.value", pattern=_TAG_TEXT, high=256)
        violations.check()
        assert input_config is not None and output_config is not None  # required, checked above
        return {
            "name": body["jobName"],
            "model_id": body["modelId"],
            "role_arn": body["roleArn"],
            "client_request_token": body.get("clientRequestToken"),
            "input_config": {"s3InputDataConfig": input_config},
            "output_config": {"s3OutputDataConfig": output_config},
            "timeout_hours": timeout,
            "tags": tags,
            "invocation_type": invocation_type,
            "vpc_config": body.get("vpcConfig"),
        }


def _fingerprint(job: Job) -> dict[str, Any]:
    return {
        "name": job.name,
        "model_id": job.model_id,
        "role_arn": job.role_arn,
        "client_request_token": job.client_request_token,
        "input_config": job.input_config,
        "output_config": job.output_config,
        "timeout_hours": job.timeout_hours,
        "tags": job.tags,
        "invocation_type": job.invocation_type,
        "vpc_config": job.vpc_config,
    }


def _union(value: Any, member: str, only: str, violations: _Violations) -> dict[str, Any] | None:
    """The single member of an input/output data config union, with its S3 URI checked."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {only} or not isinstance(value[only], dict):
        violations.add(value, member, f"Member must set exactly one member: {only}")
        return None
    config: dict[str, Any] = value[only]
    if violations.required(config.get("s3Uri"), f"{member}.{only}.s3Uri"):
        violations.text(config["s3Uri"], f"{member}.{only}.s3Uri", pattern=_S3_URI, low=1, high=1024)
    return config


def _int_param(value: str | None, member: str, violations: _Violations) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        violations.add(value, member, "Member must be an integer")
        return None
    if not 1 <= number <= 1000:
        violations.add(number, member, "Member must have value between 1 and 1000")
    return number


def _time_param(value: str | None, member: str, violations: _Violations) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        violations.add(value, member, "Member must be an ISO-8601 timestamp")
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _decode_token(token: str | None) -> int:
    if token is None:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise validation("The provided nextToken is invalid.") from None
