"""Batch API routes: create (``models/{m}:batchGenerateContent``), get, list, cancel and delete."""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import Response

from finops.emulators.gemini import batch_jobs
from finops.emulators.gemini.batch_jobs import BatchJob
from finops.emulators.gemini.errors import GoogleError, invalid, not_found
from finops.emulators.gemini.state import Store
from finops.emulators.gemini.wire import json_response, now, page_size, paginate, pick, read_json, resource_id

_DEFAULT_PAGE = 10
_MAX_PAGE = 100
_MAX_INLINE_REQUESTS = 100_000


async def create(request: Request, store: Store, model: str, api_version: str, duration: float) -> Response:
    body = await read_json(request)
    batch = pick(body, "batch")
    if not isinstance(batch, dict):
        raise invalid("* BatchGenerateContentRequest.batch: batch is required\n")
    body_model = pick(batch, "model")
    if body_model and str(body_model).removeprefix("models/") != model:
        raise invalid(f"batch.model {body_model} does not match the model in the URL (models/{model}).")
    input_config = pick(batch, "inputConfig")
    if not isinstance(input_config, dict):
        raise invalid("* BatchGenerateContentRequest.batch.input_config: input_config is required\n")

    batch_id = resource_id(24)
    base_url = str(request.base_url).rstrip("/")
    common: dict[str, Any] = {
        "id": batch_id,
        "seq": store.next_seq(),
        "model": model,
        "display_name": str(pick(batch, "displayName") or f"batch-{batch_id}"),
        "created": now(),
        "duration": duration,
        "api_version": api_version,
        "base_url": base_url,
    }
    file_name = pick(input_config, "fileName")
    inline = pick(pick(input_config, "requests"), "requests")
    if file_name and inline is not None:
        raise invalid("batch.input_config must set exactly one of file_name or requests.")
    if file_name:
        source = store.get_file(str(file_name))
        target = store.root / "uploads" / f"batch-{batch_id}.results"
        keys, ok = await to_thread.run_sync(batch_jobs.prepare_file, source.path, target, model, store)
        if not ok:
            raise invalid(f"The input file {source.name} contains no requests.")
        job = BatchJob(**common, labels=keys, ok=ok, input_file=source.name, results_path=target)
    elif isinstance(inline, list):
        if not inline:
            raise invalid("* BatchGenerateContentRequest.batch.input_config.requests.requests: must not be empty\n")
        if len(inline) > _MAX_INLINE_REQUESTS:
            raise invalid(f"A batch may hold at most {_MAX_INLINE_REQUESTS} requests.")
        labels, results = await to_thread.run_sync(batch_jobs.prepare_inline, inline, model, store)
        ok = ["response" in r for r in results]
        echo = [_with_model(entry, model) for entry in inline]
        job = BatchJob(**common, labels=labels, ok=ok, inline_results=results, inline_requests=echo)
    else:
        raise invalid("batch.input_config must set file_name or requests.requests.")
    store.batches[batch_id] = job
    return json_response(batch_jobs.resource(job, store))


def _with_model(entry: Any, model: str) -> Any:
    """The stored copy of an inline request names its model, as the service fills it in."""
    request = pick(entry, "request")
    if not isinstance(entry, dict) or not isinstance(request, dict):
        return entry
    return {**entry, "request": {**request, "model": f"models/{model}"}}


def _job(store: Store, batch_id: str) -> BatchJob:
    job: BatchJob | None = store.batches.get(batch_id.removeprefix("batches/"))
    if job is None:
        raise not_found(f"Batch batches/{batch_id.removeprefix('batches/')} not found.")
    return job


def get(store: Store, batch_id: str) -> Response:
    return json_response(batch_jobs.resource(_job(store, batch_id), store))


def list_batches(request: Request, store: Store) -> Response:
    size = page_size(request.query_params.get("pageSize"), default=_DEFAULT_PAGE, maximum=_MAX_PAGE)
    jobs = sorted(store.batches.values(), key=lambda j: -j.seq)
    page, token = paginate(jobs, lambda j: j.seq, request.query_params.get("pageToken"), size)
    payload: dict[str, Any] = {"operations": [batch_jobs.resource(j, store) for j in page]}
    if token:
        payload["nextPageToken"] = token
    return json_response(payload)


def cancel(store: Store, batch_id: str) -> Response:
    job = _job(store, batch_id)
    moment = now()
    if job.done(moment):
        raise GoogleError(
            400,
            f"Batch {job.name} is already in a terminal state ({job.state(moment)}).",
            "FAILED_PRECONDITION",
        )
    job.cancelled_at = moment
    return json_response({})


def delete(store: Store, batch_id: str) -> Response:
    """Delete forgets the batch (it does not cancel it); a responses file already written stays."""
    job = _job(store, batch_id)
    del store.batches[job.id]
    if job.results_path is not None:
        job.results_path.unlink(missing_ok=True)
    return json_response({})
