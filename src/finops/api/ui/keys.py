"""Keys: every virtual key with its spend against its budget and limits (a key holder sees only its own); the
admin creates (the secret shown once), edits and revokes them through the same ``KeyAdmin`` as the admin API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from finops.core.errors import InvalidRequestError
from finops.core.providers import PROVIDER_NAMES
from finops.store.keys import VirtualKeyRecord

from .auth import admin_of, form_of, viewer_of
from .pages import root
from .render import page
from .services import console_of

PERIODS = ("daily", "weekly", "monthly", "total")
_OPTIONAL = ("budget_usd", "budget_period", "rpm", "tpm", "expires_at")


def _payload(form: FormData) -> dict[str, Any]:
    """The form as the admin API's JSON body: an empty field clears the limit, no provider ticked = all."""
    payload: dict[str, Any] = {"name": str(form.get("name") or "").strip()}
    for name in _OPTIONAL:
        value = str(form.get(name) or "").strip()
        payload[name] = value or None
    providers = [str(value) for value in form.getlist("providers")]
    payload["providers"] = providers or None
    models = [item.strip() for item in str(form.get("models") or "").split(",") if item.strip()]
    payload["models"] = models or None
    return payload


def _form_values(key: VirtualKeyRecord | None, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    if payload is not None:
        values = dict(payload)
        values["models"] = ", ".join(payload.get("models") or [])
        values["providers"] = payload.get("providers") or []
        return {name: ("" if value is None else value) for name, value in values.items()}
    if key is None:
        return {
            "name": "",
            "budget_usd": "",
            "budget_period": "",
            "rpm": "",
            "tpm": "",
            "expires_at": "",
            "providers": [],
            "models": "",
        }
    return {
        "name": key.name,
        "budget_usd": "" if key.budget_usd is None else f"{key.budget_usd.normalize():f}",
        "budget_period": key.budget_period or "",
        "rpm": key.rpm or "",
        "tpm": key.tpm or "",
        "expires_at": key.expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if key.expires_at else "",
        "providers": key.providers or [],
        "models": ", ".join(key.models or []),
    }


def _form_page(
    request: Request, key: VirtualKeyRecord | None, values: dict[str, Any], error: str | None, status: int = 200
) -> Response:
    context = {"key": key, "values": values, "error": error, "periods": PERIODS, "providers": PROVIDER_NAMES}
    return page(request, "key_form.html", context, status)


async def keys_page(request: Request) -> Response:
    viewer = await viewer_of(request)
    rows = await console_of(request).overview.keys(only_key=viewer.only_key, now=datetime.now(UTC))
    rows.sort(key=lambda row: (row.key.revoked_at is not None, row.key.name.lower(), row.key.id))
    return page(request, "keys.html", {"rows": rows, "now": datetime.now(UTC)})


async def new_key(request: Request) -> Response:
    await admin_of(request)
    return _form_page(request, None, _form_values(None), None)


async def create_key(request: Request) -> Response:
    viewer = await admin_of(request)
    payload = _payload(await form_of(request, viewer))
    try:
        record, secret = await console_of(request).governance.admin.create(payload)
    except InvalidRequestError as exc:
        return _form_page(request, None, _form_values(None, payload), exc.message, 400)
    # Rendered in the answer to the POST (never stored, never redirected to): the one time the secret is shown.
    return page(request, "key_created.html", {"key": record, "secret": secret}, 201)


async def edit_key(request: Request) -> Response:
    await admin_of(request)
    key = await console_of(request).governance.admin.get(request.path_params["key_id"])
    return _form_page(request, key, _form_values(key), None)


async def update_key(request: Request) -> Response:
    viewer = await admin_of(request)
    admin = console_of(request).governance.admin
    key = await admin.get(request.path_params["key_id"])
    payload = _payload(await form_of(request, viewer))
    try:
        await admin.update(key.id, payload)
    except InvalidRequestError as exc:
        return _form_page(request, key, _form_values(key, payload), exc.message, 400)
    return RedirectResponse(f"{root(request)}/keys", status_code=303)


async def revoke_key(request: Request) -> Response:
    viewer = await admin_of(request)
    await form_of(request, viewer)
    await console_of(request).governance.admin.revoke(request.path_params["key_id"])
    return RedirectResponse(f"{root(request)}/keys", status_code=303)
