"""The model catalog: ``GET /v1/models``, ``GET /v1/models/{model_id}`` and which IDs Messages accepts.

Messages accepts the listed (dated) models, their aliases (``claude-3-5-sonnet-latest``, ``claude-sonnet-4-0``)
and every model the newest official SDK (2.14) names in its ``Model`` type; anything else is Anthropic's 404
``not_found_error`` ``model: <id>``. Capabilities (thinking, effort, structured outputs) are not checked per
model: every accepted model honours them.
"""

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
    ("claude-opus-4-5-20251101", "Claude Opus 4.5", "2025-11-01", 64000),
    ("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-01", 64000),
    ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "2025-09-29", 64000),
    ("claude-opus-4-1-20250805", "Claude Opus 4.1", "2025-08-05", 32000),
    ("claude-opus-4-20250514", "Claude Opus 4", "2025-05-14", 32000),
    ("claude-sonnet-4-20250514", "Claude Sonnet 4", "2025-05-14", 64000),
    ("claude-3-7-sonnet-20250219", "Claude Sonnet 3.7", "2025-02-19", 64000),
    ("claude-3-5-haiku-20241022", "Claude Haiku 3.5", "2024-10-22", 8192),
    ("claude-3-5-sonnet-20241022", "Claude Sonnet 3.5 (New)", "2024-10-22", 8192),
    ("claude-3-5-sonnet-20240620", "Claude Sonnet 3.5 (Old)", "2024-06-20", 8192),
    ("claude-3-haiku-20240307", "Claude Haiku 3", "2024-03-07", 4096),
    ("claude-3-opus-20240229", "Claude Opus 3", "2024-02-29", 4096),
    ("claude-3-sonnet-20240229", "Claude Sonnet 3", "2024-02-29", 4096),
]
# Aliases the API resolves to a dated model (GET /v1/models/{alias} answers the dated one).
_ALIASES: dict[str, str] = {
    "claude-opus-4-5": "claude-opus-4-5-20251101",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-opus-4-1": "claude-opus-4-1-20250805",
    "claude-opus-4-0": "claude-opus-4-20250514",
    "claude-sonnet-4-0": "claude-sonnet-4-20250514",
    "claude-3-7-sonnet-latest": "claude-3-7-sonnet-20250219",
    "claude-3-5-haiku-latest": "claude-3-5-haiku-20241022",
    "claude-3-5-sonnet-latest": "claude-3-5-sonnet-20241022",
    "claude-3-opus-latest": "claude-3-opus-20240229",
}
# Named by the newest SDK's Model type (anthropic 2.14) without a dated entry here: accepted by Messages.
_SDK_MODELS = frozenset(
    {
        "claude-fable-5-2",
        "claude-mythos-5-2",
        "claude-haiku-5-5",
        "claude-sonnet-5-5",
        "claude-fable-5-1",
        "claude-opus-5-5",
        "claude-mythos-5-1",
        "claude-sonnet-5",
        "claude-fable-5",
        "claude-mythos-5",
        "claude-opus-5",
        "claude-opus-4-8",
        "claude-opus-4-7",
        "claude-mythos-preview",
        "claude-opus-4-6",
        "claude-sonnet-4-6",
    }
)
_SEQ = {model_id: len(_CATALOG) - index for index, (model_id, *_rest) in enumerate(_CATALOG)}


def _supported(flag: bool) -> dict[str, bool]:
    return {"supported": flag}


def _model_info(entry: tuple[str, str, str, int]) -> dict[str, Any]:
    model_id, display_name, released, max_tokens = entry
    modern = not model_id.startswith("claude-3")
    thinks = modern or model_id.startswith("claude-3-7")
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
                "supported": modern,
                "low": _supported(modern),
                "medium": _supported(modern),
                "high": _supported(modern),
                "max": _supported(modern),
                "xhigh": None,
            },
            "image_input": _supported(True),
            "pdf_input": _supported(True),
            "structured_outputs": _supported(modern),
            "thinking": {
                "supported": thinks,
                "types": {"enabled": _supported(thinks), "adaptive": _supported(thinks)},
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
    wanted = _ALIASES.get(model_id, model_id)
    for entry in _CATALOG:
        if entry[0] == wanted:
            return json_response(_model_info(entry))
    raise not_found(f"model: {model_id}")


def is_known_model(model_id: str) -> bool:
    """Whether Messages serves ``model_id`` (a listed model, an alias, or a model the newest SDK names)."""
    return model_id in _SEQ or model_id in _ALIASES or model_id in _SDK_MODELS
