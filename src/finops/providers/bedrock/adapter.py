"""AWS Bedrock upstream: messages on Bedrock Runtime; files and batches on S3 and batch inference when configured.

Claude models go through InvokeModel, whose body is Anthropic's own (nothing is lost but the betas Bedrock does not
offer, see ``betas.py``); every other family goes through Converse. Streams arrive as AWS event streams and leave as
Anthropic SSE. Bedrock has no Files API and no inline batches: with ``providers.bedrock.batch`` files become S3
objects (``files``) and batches become model-invocation jobs (``batches``); without it those calls are refused by
the core (``capabilities``) before anything is stored or sent, each in its own words.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import cast

import httpx
import orjson

from finops.config import ProviderSettings
from finops.core.errors import InvalidRequestError, UpstreamError
from finops.core.params import CountTokensParams, MessageParams
from finops.core.push import Push
from finops.core.types import JSON
from finops.providers.base import (
    BatchRef,
    BatchStatus,
    CallContext,
    Capabilities,
    CreateIntent,
    Download,
    FileUpload,
    MessageResult,
    MessageStream,
    UpstreamBatch,
    UpstreamFile,
)
from finops.providers.bedrock import embeddings
from finops.providers.bedrock.answers import from_converse_response
from finops.providers.bedrock.auth import build_auth, region_of
from finops.providers.bedrock.betas import bedrock_betas
from finops.providers.bedrock.errors import bedrock_fault
from finops.providers.bedrock.file_sources import FileSource, reads_s3, with_file_sources
from finops.providers.bedrock.invoke import from_invoke_response, to_invoke_body
from finops.providers.bedrock.models import KNOWN_MODELS, is_anthropic_model, model_path
from finops.providers.bedrock.pushed_stream import converse_events, invoke_events
from finops.providers.bedrock.storage import BedrockStorage
from finops.providers.bedrock.stream import ConverseStreamTranslator, InvokeStreamTranslator
from finops.providers.bedrock.translate import plan_converse
from finops.providers.embedding import Embeddings
from finops.providers.http import build_client, send
from finops.providers.relay import relay_events
from finops.providers.sse import Event
from finops.providers.upstream_errors import ErrorPolicy
from finops.providers.usage import message_result

BATCHES_REFUSAL = (
    "Bedrock batch jobs need file-based input in S3 (CreateModelInvocationJob with an S3 input/output location "
    "and an IAM role), which the Anthropic SDK's inline batch API cannot express; use the AWS Bedrock SDK "
    "(boto3 `bedrock` client) for batch jobs."
)
FILES_REFUSAL = (
    "Bedrock has no Files API: files for Bedrock models live in S3, which this gateway does not manage; send "
    "images and documents inline (base64) in the message instead of uploading them."
)

logger = logging.getLogger("finops.providers")

_JSON_TYPE = "application/json"
_EVENTSTREAM_TYPE = "application/vnd.amazon.eventstream"
# The CountTokens input fields a Converse request may carry (inference settings do not change the count).
_CONVERSE_COUNT_FIELDS = ("messages", "system", "toolConfig", "additionalModelRequestFields")
# Models the caller lists but we have no catalogue entry for still need the fields the SDK's ModelInfo requires.
_UNKNOWN_RELEASE = "1970-01-01T00:00:00Z"


def _requested_betas(ctx: CallContext) -> list[str]:
    return [beta.strip() for beta in (ctx.anthropic_beta or "").split(",") if beta.strip()]


_LOGGED_DROPS_MAX = 256  # each dropped beta is logged once; a client inventing names cannot flood the log


def _model_entry(model_id: str) -> JSON:
    known = next((model for model in KNOWN_MODELS if model["id"] == model_id), None)
    return (
        dict(known)
        if known
        else {"type": "model", "id": model_id, "display_name": model_id, "created_at": _UNKNOWN_RELEASE}
    )


REFUSED = Capabilities(files=False, batches=False, refusal=BATCHES_REFUSAL, files_refusal=FILES_REFUSAL)


class BedrockProvider:
    name = "bedrock"

    def __init__(self, settings: ProviderSettings) -> None:
        region = region_of(settings)
        self._base_url = (settings.base_url or f"https://bedrock-runtime.{region}.amazonaws.com").rstrip("/")
        self._auth = build_auth(settings)
        self._errors = ErrorPolicy(self.name, self._auth.secrets, bedrock_fault)
        self._client = build_client(settings, self._base_url)
        self._storage = (
            BedrockStorage(settings, settings.batch, self._auth, self.create_message) if settings.batch else None
        )
        if settings.batch is None:
            self.capabilities = REFUSED
        else:
            on_demand = settings.batch.min_records_policy == "run_on_demand"
            self.capabilities = Capabilities(on_demand_below=settings.batch.min_records if on_demand else 0)
        self._models = [_model_entry(model_id) for model_id in settings.models] if settings.models else KNOWN_MODELS
        self._logged_drops: set[str] = set()

    async def aclose(self) -> None:
        await self._client.aclose()
        if self._storage is not None:
            await self._storage.aclose()

    # -- plumbing ---------------------------------------------------------------------------------------

    async def _send(
        self, path: str, payload: JSON, *, accept: str = _JSON_TYPE, stream: bool = False
    ) -> httpx.Response:
        """POST ``payload`` to ``path``, signed over exactly the URL and bytes that go on the wire."""
        url = f"{self._base_url}{path}"
        body = orjson.dumps(payload)
        headers = {"content-type": _JSON_TYPE, "accept": accept}
        if stream and accept == _EVENTSTREAM_TYPE:
            # InvokeModelWithResponseStream: the content type of the events inside the stream.
            headers["x-amzn-bedrock-accept"] = _JSON_TYPE
        signed = await self._auth.sign("POST", url, body, headers)
        request = self._client.build_request("POST", url, content=body, headers=signed)
        return await send(self._client, request, provider=self.name, on_error=self._errors.for_response, stream=stream)

    async def _call(self, path: str, payload: JSON) -> JSON:
        response = await self._send(path, payload)
        try:
            answer = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise UpstreamError("Bedrock answered with a body that is not JSON") from exc
        if not isinstance(answer, dict):
            raise UpstreamError("Bedrock answered with a body that is not a JSON object")
        return answer

    def _invoke_betas(self, ctx: CallContext, body: JSON) -> list[str]:
        """The client's betas that Bedrock takes; the others are dropped with a log line (or refused, betas.py)."""
        betas = bedrock_betas(_requested_betas(ctx), body)
        fresh = [beta for beta in betas.dropped if beta not in self._logged_drops]
        if fresh and len(self._logged_drops) < _LOGGED_DROPS_MAX:
            self._logged_drops.update(fresh)
            logger.info("bedrock: not forwarding anthropic-beta values Bedrock does not offer: %s", ", ".join(fresh))
        return betas.forwarded

    # -- messages ---------------------------------------------------------------------------------------

    async def _with_files(self, body: JSON, ctx: CallContext) -> JSON:
        """``body`` with its Bedrock files (S3 objects) as the model takes them: ``s3Location`` for Nova, the bytes
        inline for every other family (``file_sources``)."""
        if not ctx.files:
            return body
        files = self._configured(FILES_REFUSAL).files
        direct = reads_s3(str(body["model"]))
        sources: dict[str, FileSource] = {}
        for key, ref in ctx.files.items():
            if files.owns(key):
                data = None if direct else await files.read(key)
                sources[key] = FileSource(ref.mime_type, files.uri(key), data)
        return with_file_sources(body, sources)

    async def create_message(self, body: JSON, ctx: CallContext) -> MessageResult:
        body = await self._with_files(body, ctx)
        params = cast(MessageParams, body)  # parsed and checked by the core (core/params)
        model = params["model"]
        if is_anthropic_model(model):
            invoke_body = to_invoke_body(params, anthropic_beta=self._invoke_betas(ctx, body))
            answer = await self._call(f"/model/{model_path(model)}/invoke", invoke_body)
            return message_result(from_invoke_response(answer, model=model))
        plan = plan_converse(params)
        answer = await self._call(f"/model/{model_path(model)}/converse", plan.request)
        return message_result(from_converse_response(answer, model=model, shape=plan.answer))

    def stream_message(self, body: JSON, ctx: CallContext) -> MessageStream:
        params = cast(MessageParams, body)
        model = params["model"]
        events = (
            self._invoke_stream(model, params, ctx)
            if is_anthropic_model(model)
            else self._converse_stream(model, params, ctx)
        )
        return relay_events(self._errors, events)

    def _invoke_stream(
        self, model: str, params: MessageParams, ctx: CallContext
    ) -> AsyncGenerator[list[Event], Push | None]:
        async def open_response() -> httpx.Response:
            with_files = cast(MessageParams, await self._with_files(dict(params), ctx))
            invoke_body = to_invoke_body(with_files, anthropic_beta=self._invoke_betas(ctx, dict(with_files)))
            path = f"/model/{model_path(model)}/invoke-with-response-stream"
            return await self._send(path, invoke_body, accept=_EVENTSTREAM_TYPE, stream=True)

        return invoke_events(open_response, InvokeStreamTranslator(model), self._errors)

    def _converse_stream(
        self, model: str, params: MessageParams, ctx: CallContext
    ) -> AsyncGenerator[list[Event], Push | None]:
        translator = ConverseStreamTranslator(model=model)

        async def open_response() -> httpx.Response:
            plan = plan_converse(cast(MessageParams, await self._with_files(dict(params), ctx)))
            translator.shape = plan.answer  # known once the request is planned, before the first frame is fed
            path = f"/model/{model_path(model)}/converse-stream"
            return await self._send(path, plan.request, accept=_EVENTSTREAM_TYPE, stream=True)

        return converse_events(open_response, translator, self._errors)

    async def embed(self, texts: list[str], model: str, dimensions: int | None = None) -> Embeddings:
        return await embeddings.embed(self._send, texts, model, dimensions)

    async def count_tokens(self, body: JSON, ctx: CallContext) -> JSON:
        """Bedrock's CountTokens (``POST /model/{id}/count-tokens``): the exact count, never an estimate."""
        params = cast(CountTokensParams, await self._with_files(body, ctx))
        model = params["model"]
        if is_anthropic_model(model):
            # The input is a complete InvokeModel body, and Claude's requires max_tokens (it does not change
            # the input count); count_tokens bodies have none.
            invoke_body = to_invoke_body(params, anthropic_beta=self._invoke_betas(ctx, body))
            invoke_body.setdefault("max_tokens", 1)
            encoded = base64.b64encode(orjson.dumps(invoke_body)).decode("ascii")
            spec: JSON = {"invokeModel": {"body": encoded}}
        else:
            request = plan_converse(params).request
            spec = {"converse": {key: request[key] for key in _CONVERSE_COUNT_FIELDS if key in request}}
        answer = await self._call(f"/model/{model_path(model)}/count-tokens", {"input": spec})
        return {"input_tokens": int(answer.get("inputTokens") or 0)}

    async def list_models(self, ctx: CallContext) -> list[JSON]:
        return [dict(model) for model in self._models]

    # -- files and batches: on S3 when configured; refused otherwise (the core checks ``capabilities`` first) ---

    def _configured(self, refusal: str) -> BedrockStorage:
        if self._storage is None:
            raise InvalidRequestError(refusal)
        return self._storage

    async def upload_file(self, upload: FileUpload, ctx: CallContext) -> UpstreamFile:
        return await self._configured(FILES_REFUSAL).files.upload(upload, ctx.upstream_key)

    async def delete_file(self, upstream_id: str, ctx: CallContext) -> None:
        await self._configured(FILES_REFUSAL).files.delete(upstream_id)

    async def download_file(self, upstream_id: str, ctx: CallContext) -> Download:
        return await self._configured(FILES_REFUSAL).files.download(upstream_id)

    async def create_batch(self, requests: list[JSON], ctx: CallContext) -> UpstreamBatch:
        return await self._configured(BATCHES_REFUSAL).batches.create(requests, ctx)

    async def get_batch(self, ref: BatchRef, ctx: CallContext) -> BatchStatus:
        return await self._configured(BATCHES_REFUSAL).batches.get(ref)

    async def cancel_batch(self, ref: BatchRef, ctx: CallContext) -> BatchStatus:
        return await self._configured(BATCHES_REFUSAL).batches.cancel(ref)

    async def delete_batch(self, ref: BatchRef, ctx: CallContext) -> None:
        await self._configured(BATCHES_REFUSAL).batches.delete(ref)

    async def batch_results(self, ref: BatchRef, ctx: CallContext) -> AsyncIterator[bytes]:
        async for line in self._configured(BATCHES_REFUSAL).batches.results(ref):
            yield line

    async def remove_created(self, intent: CreateIntent, ctx: CallContext) -> int:
        """Stop and delete what a create that never reached the store left upstream (``recovery``)."""
        return 0 if self._storage is None else await self._storage.remove_created(intent)
