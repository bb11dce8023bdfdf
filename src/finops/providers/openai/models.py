"""OpenAI model objects -> Anthropic model objects (``GET /v1/models`` through the gateway)."""

from __future__ import annotations

from datetime import UTC, datetime

from finops.core.types import JSON


def to_model_object(model: JSON) -> JSON:
    """``{id, object, created (unix), owned_by}`` as ``{type: "model", id, display_name, created_at}``.

    OpenAI has no display names; the id is what users type, so it doubles as one.
    """
    created = model.get("created")
    when = datetime.fromtimestamp(created, UTC) if isinstance(created, int | float) else datetime.fromtimestamp(0, UTC)
    return {
        "type": "model",
        "id": model["id"],
        "display_name": model["id"],
        "created_at": when.isoformat().replace("+00:00", "Z"),
    }
