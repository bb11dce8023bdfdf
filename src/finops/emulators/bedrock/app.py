"""The Bedrock emulator's ASGI app: routes, authentication and response framing.

Serves InvokeModel, InvokeModelWithResponseStream, Converse, ConverseStream and CountTokens under
``/model/{modelId}/...``, the batch-inference control plane (``jobs``) and, on the same port, the S3 subset
batch jobs read and write (``s3``); ``routing`` says which service a request is for. The model ID arrives
percent-encoded (boto3 sends ``%3A`` for ``:``, and ``%2F`` inside ARNs); Starlette matches on the decoded
path, while the signature check uses the raw one.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from finops.emulators._common.control import EmulatorControl
from finops.emulators._common.prompt_cache import BreakpointCache
from finops.emulators.bedrock import converse, embeddings, invoke, models
from finops.emulators.bedrock.auth import Authenticator
from finops.emulators.bedrock.errors import (
    BedrockError,
    error_parts,
    new_request_id,
    render_error,
    validation,
)
from finops.emulators.bedrock.eventstream import chunk_frame, event_frame, exception_frame
from finops.emulators.bedrock.generate import failure_error, requested_failure
from finops.emulators.bedrock.jobs import JobService, JobSettings
from finops.emulators.bedrock.routing import ServiceRouter
from finops.emulators.bedrock.s3 import S3Service
from finops.emulators.bedrock.s3_store import ObjectStore
from finops.emulators.bedrock.sigv4 import SigningKey

EVENTSTREAM = "application/vnd.amazon.eventstream"


def _json(payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(payload),
        media_type="application/json",
        headers={"x-amzn-RequestId": new_request_id(), **(headers or {})},
    )


def _error_response(error: BedrockError) -> Response:
    body, headers = error_parts(error.status, error.message, error.code)
    return Response(body, status_code=error.status, headers={k.decode(): v.decode() for k, v in headers})


def _elapsed_ms(started: float) -> int:
    return max(1, round((time.monotonic() - started) * 1000))


class BedrockEmulator:
    """The route handlers, sharing one authenticator and one prompt cache."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator
        self.cache = BreakpointCache()

    async def _accept(self, request: Request, *, embeddings: bool = False) -> tuple[models.Model, bytes]:
        body = await request.body()
        self.authenticator.check(request.scope, body)
        model = models.resolve(request.path_params["model_id"])
        if model.is_embedding and not embeddings:
            raise validation(
                "This action doesn't support the model that you provided. "
                "Try again with a supported text or chat model."
            )
        return model, body

    def _anthropic_call(
        self, model: models.Model, body: bytes, cache: BreakpointCache | None = None
    ) -> invoke.AnthropicCall:
        if not model.is_anthropic:
            raise validation(
                f"The emulator serves InvokeModel for Anthropic models only; call Converse for {model.requested_id}."
            )
        return invoke.run(invoke.parse_body(body), model, cache or self.cache)

    async def invoke_model(self, request: Request) -> Response:
        started = time.monotonic()
        model, body = await self._accept(request, embeddings=True)
        if model.is_embedding:
            result = embeddings.invoke(model.base_id, body)
            return _json(result.body, {"X-Amzn-Bedrock-Input-Token-Count": str(result.input_tokens)})
        call = self._anthropic_call(model, body)
        failure = requested_failure(call.prompt)
        if failure:
            raise failure_error(failure)
        headers = {
            "X-Amzn-Bedrock-Invocation-Latency": str(_elapsed_ms(started)),
            "X-Amzn-Bedrock-Input-Token-Count": str(call.usage.uncached),
            "X-Amzn-Bedrock-Output-Token-Count": str(call.outcome.output_tokens),
            "X-Amzn-Bedrock-Cache-Read-Input-Token-Count": str(call.usage.cache_read),
            "X-Amzn-Bedrock-Cache-Write-Input-Token-Count": str(call.usage.cache_write),
        }
        return _json(invoke.message(call, model), headers)

    async def invoke_model_stream(self, request: Request) -> Response:
        started = time.monotonic()
        model, body = await self._accept(request)
        call = self._anthropic_call(model, body)
        failure = requested_failure(call.prompt)

        async def frames() -> AsyncIterator[bytes]:
            first_byte: int | None = None
            deltas = 0
            for event in invoke.stream_events(call, model):
                if event["type"] == "message_stop":
                    event["amazon-bedrock-invocationMetrics"] = {
                        "inputTokenCount": call.usage.uncached,
                        "outputTokenCount": call.outcome.output_tokens,
                        "invocationLatency": _elapsed_ms(started),
                        "firstByteLatency": first_byte or _elapsed_ms(started),
                    }
                    if call.usage.cache_used:
                        event["amazon-bedrock-invocationMetrics"].update(
                            cacheReadInputTokenCount=call.usage.cache_read,
                            cacheWriteInputTokenCount=call.usage.cache_write,
                        )
                yield chunk_frame(event)
                first_byte = first_byte or _elapsed_ms(started)
                deltas += event["type"] == "content_block_delta"
                if failure and deltas == 1:
                    yield exception_frame(failure, failure_error(failure).message)
                    return

        return _stream(frames(), {"X-Amzn-Bedrock-Content-Type": "application/json"})

    async def converse(self, request: Request) -> Response:
        started = time.monotonic()
        model, raw = await self._accept(request)
        body = converse.parse_body(raw)
        call = converse.run(body, model, self.cache)
        failure = requested_failure(converse.prompt_of(body))
        if failure:
            raise failure_error(failure)
        return _json(converse.response(call, _elapsed_ms(started)))

    async def converse_stream(self, request: Request) -> Response:
        started = time.monotonic()
        model, raw = await self._accept(request)
        body = converse.parse_body(raw)
        call = converse.run(body, model, self.cache)
        failure = requested_failure(converse.prompt_of(body))

        async def frames() -> AsyncIterator[bytes]:
            deltas = 0
            for name, payload in converse.stream_events(call):
                yield event_frame(name, payload)
                deltas += name == "contentBlockDelta"
                if failure and deltas == 1:
                    yield exception_frame(failure, failure_error(failure).message)
                    return
            metadata = {"usage": converse.usage(call), "metrics": {"latencyMs": _elapsed_ms(started)}}
            yield event_frame("metadata", metadata)

        return _stream(frames())

    async def count_tokens(self, request: Request) -> Response:
        model, raw = await self._accept(request)
        try:
            body = orjson.loads(raw or b"{}")
            spec = body["input"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise validation("The input field is required.") from None
        # Counting never reads or writes the prompt cache, so it gets a throwaway one.
        if isinstance(spec, dict) and "invokeModel" in spec:
            try:
                inner = base64.b64decode(spec["invokeModel"]["body"], validate=True)
            except (binascii.Error, KeyError, TypeError, ValueError):
                raise validation("input.invokeModel.body must be a base64-encoded blob.") from None
            call = self._anthropic_call(model, inner, BreakpointCache())
            return _json({"inputTokens": call.usage.total})
        if isinstance(spec, dict) and "converse" in spec:
            conversation = converse.parse_body(orjson.dumps(spec["converse"]))
            return _json({"inputTokens": converse.run(conversation, model, BreakpointCache()).usage.total})
        raise validation("input must set exactly one of invokeModel or converse.")


def _stream(frames: AsyncIterator[bytes], headers: dict[str, str] | None = None) -> StreamingResponse:
    return StreamingResponse(
        frames, media_type=EVENTSTREAM, headers={"x-amzn-RequestId": new_request_id(), **(headers or {})}
    )


async def _on_bedrock_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, BedrockError)
    return _error_response(exc)


async def _on_http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return _error_response(BedrockError(405, "Method not allowed for this operation.", "ValidationException"))
    return _error_response(BedrockError(404, "The requested operation is not recognized.", "UnknownOperationException"))


async def _on_unexpected(_: Request, exc: Exception) -> Response:
    # Even an emulator bug must reach the SDK in Bedrock's shape, so clients fail the way they would on AWS.
    return _error_response(BedrockError(500, f"Emulator error: {type(exc).__name__}", "InternalServerException"))


def create_app(
    *,
    access_key_id: str = "AKIAFINOPSEMULATOR",
    secret_access_key: str = "finops-emulator-secret",
    bearer_token: str | None = None,
    region: str | None = None,
    batch_seconds: float = 5.0,
    buckets: Sequence[str] = (),
    state_dir: str | None = None,
    min_batch_records: int = 100,
) -> Callable[..., Awaitable[None]]:
    """Build the emulator: Bedrock Runtime, the batch-job control plane and S3 on one app (see ``routing``).

    ``region`` restricts the accepted credential scope (``None`` accepts any). ``buckets`` are created at
    start; S3 object bytes go under ``state_dir`` (a temporary directory by default). Batch jobs finish
    ``batch_seconds`` after creation and fail validation below ``min_batch_records`` records.
    """
    key = SigningKey(access_key_id, secret_access_key, region)
    emulator = BedrockEmulator(Authenticator(key, bearer_token=bearer_token))
    store = ObjectStore(state_dir)
    for bucket in buckets:
        store.create_bucket(bucket)
    jobs = JobService(
        store, emulator.authenticator, JobSettings(batch_seconds=batch_seconds, min_records=min_batch_records)
    )
    routes = [
        Route("/model/{model_id:path}/invoke", emulator.invoke_model, methods=["POST"]),
        Route(
            "/model/{model_id:path}/invoke-with-response-stream",
            emulator.invoke_model_stream,
            methods=["POST"],
        ),
        Route("/model/{model_id:path}/converse", emulator.converse, methods=["POST"]),
        Route("/model/{model_id:path}/converse-stream", emulator.converse_stream, methods=["POST"]),
        Route("/model/{model_id:path}/count-tokens", emulator.count_tokens, methods=["POST"]),
        *jobs.routes(),
    ]

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await jobs.shutdown()
        store.close()

    app = Starlette(
        routes=routes,
        exception_handlers={
            BedrockError: _on_bedrock_error,
            HTTPException: _on_http_error,
            Exception: _on_unexpected,
        },
        lifespan=lifespan,
    )
    return EmulatorControl(ServiceRouter(app, S3Service(store, key)), render_error, on_reset=emulator.cache.reset)
