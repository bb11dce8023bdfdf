"""Batches: every batch (the admin sees every owner's) with its progress, reserved and recorded cost; a page per
batch with the upstream batches behind it; its results, streamed as the Anthropic API serves them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from finops.core.errors import GatewayError, NotFoundError
from finops.core.ids import shown_id
from finops.store.reports import BatchView

from .auth import Viewer, viewer_of
from .pages import cursor, owner_label, owner_names
from .render import page
from .services import call_context, console_of

PAGE_SIZE = 25
_REFRESH_SECONDS = 5.0


def progress(view: BatchView) -> tuple[int, int]:
    """(requests finished, requests): what the progress bar shows."""
    counts = view.batch.request_counts
    total = view.batch.request_count or sum(counts.values())
    if view.batch.processing_status == "ended":
        return total, total
    return min(total, total - int(counts.get("processing", 0))), total


async def _refreshed(request: Request, viewer: Viewer, views: list[BatchView]) -> list[BatchView]:
    """Unfinished batches asked upstream for their status (through the batch service, which stores it); a slow or
    failing upstream leaves the stored status on the page."""
    service = console_of(request).batches
    ctx = call_context(request)

    async def refresh(view: BatchView) -> BatchView:
        if view.batch.processing_status == "ended":
            return view
        with contextlib.suppress(GatewayError, TimeoutError):
            principal = viewer.acting_for(view.batch.owner)
            record = await asyncio.wait_for(service.retrieve(principal, view.batch.id, ctx), _REFRESH_SECONDS)
            return replace(view, batch=record)
        return view

    return list(await asyncio.gather(*(refresh(view) for view in views)))


async def _listing(request: Request) -> dict[str, object]:
    viewer = await viewer_of(request)
    console = console_of(request)
    views, older = await console.reports.batches(owner=viewer.only_owner, before_seq=cursor(request), limit=PAGE_SIZE)
    views = await _refreshed(request, viewer, views)
    names = owner_names(await console.governance.admin.list()) if viewer.is_admin else {}
    rows = [{"view": view, "owner": owner_label(view.batch.owner, names), "progress": progress(view)} for view in views]
    return {
        "rows": rows,
        "older": older,
        "before": cursor(request),
        "running": any(view.batch.processing_status != "ended" for view in views),
    }


async def batches_page(request: Request) -> Response:
    return page(request, "batches.html", await _listing(request))


async def batches_fragment(request: Request) -> Response:
    return page(request, "_batches.html", await _listing(request))


async def _visible(request: Request, viewer: Viewer) -> BatchView:
    """The batch if this viewer may see it; another key's batch is as absent as an unknown one."""
    batch_id = request.path_params["batch_id"]
    view = await console_of(request).reports.batch(batch_id, owner=viewer.only_owner)
    if view is None:
        raise NotFoundError(f"Batch not found: {shown_id(batch_id)}")
    return view


async def batch_page(request: Request) -> Response:
    viewer = await viewer_of(request)
    console = console_of(request)
    (view,) = await _refreshed(request, viewer, [await _visible(request, viewer)])
    parts = await console.batch_parts.parts(view.batch, call_context(request))
    names = owner_names(await console.governance.admin.list()) if viewer.is_admin else {}
    context = {
        "view": view,
        "owner": owner_label(view.batch.owner, names),
        "progress": progress(view),
        "parts": parts,
    }
    return page(request, "batch.html", context)


async def batch_results(request: Request) -> Response:
    viewer = await viewer_of(request)
    view = await _visible(request, viewer)
    principal = viewer.acting_for(view.batch.owner)
    chunks = await console_of(request).batches.results(principal, view.batch.id, call_context(request))
    iterator = aiter(chunks)
    try:
        first = await anext(iterator)  # an upstream failure becomes an error page, not a broken download
    except StopAsyncIteration:
        first = b""

    async def body() -> AsyncIterator[bytes]:
        if first:
            yield first
        async for chunk in iterator:
            yield chunk

    headers = {"content-disposition": f'attachment; filename="{view.batch.id}_results.jsonl"'}
    return StreamingResponse(body(), media_type="application/jsonl", headers=headers)
