"""``GET /v1/models`` and ``GET /v1/models/{model_id}``: a small fixed catalog, newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from finops.emulators.anthropic.errors import not_found
from finops.emulators.anthropic.pagination import paginate, parse_list_query
from finops.emulators.anthropic.responses import json_response

# (id, display name, release date, max output tokens); listed newest first as the real API does.
_CATALOG: list[tuple[str, str, str, int]] = [
    ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "2025-09-29", 64000),
    ("claude-opus-4-1-20250805", "Claude Opus 4.1", "2025-08-05", 32000),
    ("claude-sonnet-4-20250514", "Claude Sonnet 4", "2025-05-14", 64000),
    ("claude-3-5-haiku-20241022", "Claude Haiku 3.5", "2024-10-22", 8192),
    ("claude-3-5-sonnet-20241022", "Claude Sonnet 3.5 (New)", "2024-10-22", 8192),
    ("claude-3-haiku-20240307", "Claude Haiku 3", "2024-03-07", 4096),
    ("claude-3-sonnet-20240229", "Claude Sonnet 3", "2024-02-29", 4096),
]
_SEQ = {model_id: len(_CATALOG) - index for index, (model_id, *_rest) in enumerate(_CATALOG)}


def _supported(flag: bool) -> dict[str, bool]:
    return {"supported": flag}


def _model_info(entry: tuple[str, str, str, int]) -> dict[str, Any]:
    model_id, display_name, released, max_tokens = entry
    modern = not model_id.startswith("claude-3")
    created = datetime.fromisoformat(released).replace(tzinfo=UTC)
    return {
        "type": "model",
        "id": model_id,
        "display_name": display_name,
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "max_input_tokens": 200000,
        "max_tokens": max_tokens,
        "capabilities": {
            "batch": _supported(True),
            "citations": _supported(True),
            "code_execution": _supported(modern),
            "context_management": {
                "supported": modern,
                "clear_thinking_20251015": None,
                "clear_tool_uses_20250919": _supported(modern),
                "compact_20260112": None,
            },
            "effort": {
                "supported": False,
                "low": _supported(False),
                "medium": _supported(False),
                "high": _supported(False),
                "max": _supported(False),
                "xhigh": None,
            },
            "image_input": _supported(True),
            "pdf_input": _supported(True),
            "structured_outputs": _supported(modern),
            "thinking": {
                "supported": modern,
                "types": {"enabled": _supported(modern), "adaptive": _supported(False)},
            },
        },
    }


async def list_models(request: Request) -> Response:
    query = parse_list_query(request.query_params, _SEQ.get)
    page = paginate(
        _CATALOG, query, seq=lambda entry: _SEQ[entry[0]], item_id=lambda entry: entry[0], render=_model_info
    )
    return json_response(page)


async def get_model(request: Request) -> Response:
    model_id = request.path_params["model_id"]
    for entry in _CATALOG:
        if entry[0] == model_id:
            return json_response(_model_info(entry))
    raise not_found(f"model: {model_id}")
