"""Bedrock's batch-inference control plane (``bedrock.<region>.amazonaws.com``, signing name ``bedrock``):
Create/Get/Stop/ListModelInvocationJob(s), on the gateway's own upstream client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import orjson

from finops.config import ProviderSettings
from finops.core.errors import UpstreamError
from finops.core.types import JSON
from finops.providers.bedrock.auth import BedrockAuth
from finops.providers.bedrock.errors import bedrock_fault
from finops.providers.http import build_client, send
from finops.providers.upstream_errors import ErrorPolicy

TIMEOUT_HOURS = 24
"""A job's time limit: Anthropic's batches expire after 24 hours, so a job may not run longer (the minimum)."""


class JobClient:
    def __init__(self, settings: ProviderSettings, auth: BedrockAuth, base_url: str) -> None:
        self._base_url = base_url
        self._auth = auth
        self._client = build_client(settings, base_url)
        self._errors = ErrorPolicy("bedrock", auth.secrets, bedrock_fault)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(self, method: str, path: str, payload: JSON | None = None) -> JSON:
        url = f"{self._base_url}{path}"
        body = orjson.dumps(payload) if payload is not None else b""
        headers = {"accept": "application/json"}
        if payload is not None:
            headers["content-type"] = "application/json"
        signed = await self._auth.sign(method, url, body, headers)
        request = self._client.build_request(method, url, content=body, headers=signed)
        response = await send(self._client, request, provider="bedrock", on_error=self._errors.for_response)
        try:
            answer = orjson.loads(response.content or b"{}")
        except orjson.JSONDecodeError as exc:
            raise UpstreamError("Bedrock answered with a body that is not JSON") from exc
        return answer if isinstance(answer, dict) else {}

    async def create(
        self,
        *,
        name: str,
        model_id: str,
        role_arn: str,
        input_uri: str,
        output_uri: str,
        token: str,
        invocation_type: str = "InvokeModel",
    ) -> str:
        """The new job's ARN. ``token`` (the client request token) makes a retried create answer the same job."""
        answer = await self._call(
            "POST",
            "/model-invocation-job",
            {
                "jobName": name,
                "modelId": model_id,
                "roleArn": role_arn,
                "clientRequestToken": token,
                "inputDataConfig": {"s3InputDataConfig": {"s3Uri": input_uri, "s3InputFormat": "JSONL"}},
                "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": output_uri}},
                "timeoutDurationInHours": TIMEOUT_HOURS,
                "modelInvocationType": invocation_type,
            },
        )
        arn = answer.get("jobArn")
        if not isinstance(arn, str):
            raise UpstreamError("Bedrock created a batch job without answering its ARN")
        return arn

    async def get(self, arn: str) -> JSON:
        return await self._call("GET", f"/model-invocation-job/{quote(arn, safe='')}")

    async def stop(self, arn: str) -> None:
        await self._call("POST", f"/model-invocation-job/{quote(arn, safe='')}/stop")

    async def find(self, name_contains: str) -> AsyncIterator[JSON]:
        """Every job whose name contains ``name_contains`` (ListModelInvocationJobs, page by page)."""
        token: str | None = None
        while True:
            query = f"nameContains={quote(name_contains, safe='')}&maxResults=100"
            if token:
                query += f"&nextToken={quote(token, safe='')}"
            answer = await self._call("GET", f"/model-invocation-jobs?{query}")
            for summary in answer.get("invocationJobSummaries") or []:
                if isinstance(summary, dict):
                    yield summary
            token = answer.get("nextToken")
            if not token:
                return
