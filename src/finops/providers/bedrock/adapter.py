"""AWS Bedrock Runtime upstream: chat only.

Claude models go through InvokeModel, whose body is Anthropic's own (nothing is lost); every other family goes
through Converse. Streams arrive as AWS event streams and leave as Anthropic SSE. Bedrock has no Files API and
no inline batches, so those calls are refused by the core (``capabilities``) before anything is stored or sent.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from finops.config import ProviderSettings
from finops.core.errors import GatewayError, InvalidRequestError, UpstreamError
from finops.providers.base import (
    BatchRef,
    BatchStatus,
    CallContext,
    Capabilities,
    Download,
    FileUpload,
    UpstreamBatch,
    UpstreamFile,
)
from finops.providers.bedrock.auth import build_auth, region_of
from finops.providers.bedrock.eventstream import DecodedFrame, EventStreamDecoder
from finops.providers.bedrock.models import KNOWN_MODELS, is_anthropic_model, model_path
from finops.providers.bedrock.stream import ConverseStreamTranslator, InvokeStreamTranslator
from finops.providers.bedrock.translate import (
    from_bedrock_error,
    from_converse_response,
    from_invoke_response,
    normalize_usage,
    to_converse_request,
    to_invoke_body,
)
from finops.providers.http import build_client, iter_body, redact, send
from finops.providers.sse import encode_sse

JSON = dict[str, Any]

REFUSAL = (
    "Bedrock batch jobs need file-based input in S3 (CreateModelInvocationJob with an S3 input/output location "
    "and an IAM role), which the Anthropic SDK's inline batch API cannot express; use the AWS Bedrock SDK "
    "(boto3 `bedrock` client) for batch jobs. Bedrock has no Files API."
)

_JSON_TYPE = "application/json"
_EVENTSTREAM_TYPE = "application/vnd.amazon.eventstream"
# The CountTokens input fields a Converse request may carry (inference settings do not change the count).
_CONVERSE_COUNT_FIELDS = ("messages", "system", "toolConfig", "additionalModelRequestFields")
# Models the caller lists but we have no catalogue entry for still need the fields the SDK's ModelInfo requires.
_UNKNOWN_RELEASE = "1970-01-01T00:00:00Z"


def _betas(ctx: CallContext) -> list[str]:
    return [beta.strip() for beta in (ctx.anthropic_beta or "").split(",") if beta.strip()]


def _model_entry(model_id: str) -> JSON:
    known = next((model for model in KNOWN_MODELS if model["id"] == model_id), None)
    return (
        dict(known)
        if known
        else {"type": "model", "id": model_id, "display_name": model_id, "created_at": _UNKNOWN_RELEASE}
    )


class BedrockProvider:
    name = "bedrock"
    capabilities = Capabilities(files=False, batches=False, refusal=REFUSAL)

    def __init__(self, settings: ProviderSettings) -> None:
        region = region_of(settings)
        self._base_url = (settings.base_url or f"https://bedrock-runtime.{region}.amazonaws.com").rstrip("/")
        self._auth = build_auth(settings)
        self._client = build_client(settings, self._base_url)
        self._models = [_model_entry(model_id) for model_id in settings.models] if settings.models else KNOWN_MODELS

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- plumbing ---------------------------------------------------------------------------------------

    def _scrub(self, error: GatewayError) -> GatewayError:
        """The same error with every configured credential (and anything key-shaped) removed from its text:
        from_bedrock_error already redacts AWS-shaped secrets, but a custom key ID or a bearer token may not
        look like one."""
        message = redact(error.message, self._auth.secrets())
        if message == error.message:
            return error
        scrubbed = type(error)(message, headers=error.headers)
        scrubbed.__cause__ = error.__cause__
        return scrubbed

    def _error(self, response: httpx.Response, body: bytes) -> GatewayError:
        payload: JSON | None = None
        with contextlib.suppress(orjson.JSONDecodeError):
            parsed = orjson.loads(body) if body else None
            payload = parsed if isinstance(parsed, dict) else None
        error = from_bedrock_error(response.status_code, response.headers.get("x-amzn-errortype"), payload)
        return self._scrub(error)

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
        return await send(self._client, request, provider=self.name, on_error=self._error, stream=stream)

    async def _call(self, path: str, payload: JSON) -> JSON:
        response = await self._send(path, payload)
        try:
            answer = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise UpstreamError("Bedrock answered with a body that is not JSON") from exc
        if not isinstance(answer, dict):
            raise UpstreamError("Bedrock answered with a body that is not a JSON object")
        return answer

    async def _frames(self, response: httpx.Response) -> AsyncIterator[DecodedFrame]:
        """The event frames of a streamed answer (CRC-checked); an exception frame raises its gateway error."""
        decoder = EventStreamDecoder()
        async with contextlib.aclosing(iter_body(response, self.name)) as chunks:
            async for chunk in chunks:
                for frame in decoder.feed(chunk):
                    message_type, event_type, payload = frame
                    if message_type != "event":
                        # Exception frames carry no HTTP status; their type names the error.
                        raise self._scrub(from_bedrock_error(500, event_type, payload))
                    yield frame
        decoder.close()

    async def _relay(self, events: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """Errors before the first frame raise (the client gets a status and envelope); after it, the HTTP
        status is already sent, so the error becomes Anthropic's ``event: error`` frame and the stream ends."""
        started = False
        async with contextlib.aclosing(events):
            try:
                async for frame in events:
                    started = True
                    yield frame
            except GatewayError as exc:
                if not started:
                    raise
                error = self._scrub(exc)
                yield encode_sse(
                    "error", {"type": "error", "error": {"type": error.error_type, "message": error.message}}
                )

    # -- messages ---------------------------------------------------------------------------------------

    async def create_message(self, body: JSON, ctx: CallContext) -> JSON:
        model = body["model"]
        if is_anthropic_model(model):
            invoke_body = to_invoke_body(body, anthropic_beta=_betas(ctx))
            message = from_invoke_response(
                await self._call(f"/model/{model_path(model)}/invoke", invoke_body), model=model
            )
        else:
            answer = await self._call(f"/model/{model_path(model)}/converse", to_converse_request(body))
            message = from_converse_response(answer, model=model)
        ctx.usage = message["usage"]
        return message

    def stream_message(self, body: JSON, ctx: CallContext) -> AsyncIterator[bytes]:
        model = body["model"]
        events = (
            self._invoke_stream(model, body, ctx)
            if is_anthropic_model(model)
            else self._converse_stream(model, body, ctx)
        )
        return self._relay(events)

    async def _invoke_stream(self, model: str, body: JSON, ctx: CallContext) -> AsyncIterator[bytes]:
        invoke_body = to_invoke_body(body, anthropic_beta=_betas(ctx))
        path = f"/model/{model_path(model)}/invoke-with-response-stream"
        response = await self._send(path, invoke_body, accept=_EVENTSTREAM_TYPE, stream=True)
        translator = InvokeStreamTranslator(model)
        last_event = None
        try:
            async with contextlib.aclosing(self._frames(response)) as frames:
                async for _, event_type, payload in frames:
                    if event_type != "chunk":
                        continue  # only chunk events carry the model's output
                    for last_event, event in translator.feed(payload):
                        yield encode_sse(last_event, event)
            if last_event != "message_stop":
                # Well-formed frames that simply stop: the client must not take a cut-off answer for a whole one.
                raise UpstreamError("Bedrock's stream ended before message_stop")
        finally:
            # Set even when the stream breaks off: tokens produced so far were still billed.
            ctx.usage = normalize_usage(translator.usage)

    async def _converse_stream(self, model: str, body: JSON, ctx: CallContext) -> AsyncIterator[bytes]:
        request = to_converse_request(body)
        response = await self._send(
            f"/model/{model_path(model)}/converse-stream", request, accept=_EVENTSTREAM_TYPE, stream=True
        )
        translator = ConverseStreamTranslator(model=model)
        try:
            async with contextlib.aclosing(self._frames(response)) as frames:
                async for _, event_type, payload in frames:
                    for name, event in translator.feed(event_type, payload):
                        yield encode_sse(name, event)
            for name, event in translator.finish():
                yield encode_sse(name, event)
        finally:
            ctx.usage = dict(translator.usage)

    async def count_tokens(self, body: JSON, ctx: CallContext) -> JSON:
        """Bedrock's CountTokens (``POST /model/{id}/count-tokens``): the exact count, never an estimate."""
        model = body["model"]
        if is_anthropic_model(model):
            # The input is a complete InvokeModel body, and Claude's requires max_tokens (it does not change
            # the input count); count_tokens bodies have none.
            invoke_body = to_invoke_body({"max_tokens": 1, **body}, anthropic_beta=_betas(ctx))
            encoded = base64.b64encode(orjson.dumps(invoke_body)).decode("ascii")
            spec: JSON = {"invokeModel": {"body": encoded}}
        else:
            request = to_converse_request(body)
            spec = {"converse": {key: request[key] for key in _CONVERSE_COUNT_FIELDS if key in request}}
        answer = await self._call(f"/model/{model_path(model)}/count-tokens", {"input": spec})
        return {"input_tokens": int(answer.get("inputTokens") or 0)}

    async def list_models(self, ctx: CallContext) -> list[JSON]:
        return [dict(model) for model in self._models]

    # -- files and batches: refused (the core checks ``capabilities`` first; these are the backstop) ------

    async def upload_file(self, upload: FileUpload, ctx: CallContext) -> UpstreamFile:
        raise InvalidRequestError(REFUSAL)

    async def delete_file(self, upstream_id: str, ctx: CallContext) -> None:
        raise InvalidRequestError(REFUSAL)

    async def download_file(self, upstream_id: str, ctx: CallContext) -> Download:
        raise InvalidRequestError(REFUSAL)

    async def create_batch(self, requests: list[JSON], ctx: CallContext) -> UpstreamBatch:
        raise InvalidRequestError(REFUSAL)

    async def get_batch(self, ref: BatchRef, ctx: CallContext) -> BatchStatus:
        raise InvalidRequestError(REFUSAL)

    async def cancel_batch(self, ref: BatchRef, ctx: CallContext) -> BatchStatus:
        raise InvalidRequestError(REFUSAL)

    async def delete_batch(self, ref: BatchRef, ctx: CallContext) -> None:
        raise InvalidRequestError(REFUSAL)

    async def batch_results(self, ref: BatchRef, ctx: CallContext) -> AsyncIterator[bytes]:
        raise InvalidRequestError(REFUSAL)
        yield b""  # pragma: no cover  (makes this an async generator, as the protocol expects)
