"""Store records -> the Anthropic JSON objects the SDKs parse."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from finops.store.records import BatchRecord, FileRecord, Page

from .requests import encode_page

T = TypeVar("T")


def rfc3339(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def file_json(record: FileRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "type": "file",
        "filename": record.filename,
        "mime_type": record.mime_type,
        "size_bytes": record.size_bytes,
        # The seed's list example prints ``file.size``; the SDK exposes unknown fields as attributes.
        "size": record.size_bytes,
        "created_at": rfc3339(record.created_at),
        "downloadable": record.downloadable,
    }


def batch_json(record: BatchRecord, base_url: str) -> dict[str, Any]:
    ended = record.processing_status == "ended"
    rendered: dict[str, Any] = {
        "id": record.id,
        "type": "message_batch",
        "processing_status": record.processing_status,
        "request_counts": record.request_counts,
        "created_at": rfc3339(record.created_at),
        "expires_at": rfc3339(record.expires_at),
        "ended_at": rfc3339(record.ended_at),
        "cancel_initiated_at": rfc3339(record.cancel_initiated_at),
        "archived_at": rfc3339(record.archived_at),
        "results_url": f"{base_url}/anthropic/v1/messages/batches/{record.id}/results" if ended else None,
    }
    notices = record.upstream_state.get("notices")
    if notices:
        # What the gateway did differently from the provider's own batch API (a Bedrock part run on demand...):
        # an extra field, which every SDK exposes as an attribute.
        rendered["finops_notices"] = [str(notice) for notice in notices]
    return rendered


def list_json(page: Page[T], render: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
    data = [render(item) for item in page.data]
    return _list_envelope(data, page.has_more)


def _list_envelope(data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    first_id = data[0]["id"] if data else None
    last_id = data[-1]["id"] if data else None
    return {
        "data": data,
        "has_more": has_more,
        "first_id": first_id,
        "last_id": last_id,
        "next_page": encode_page(last_id) if has_more and last_id else None,
    }
