"""``/admin``: virtual keys and spend reports (JSON), behind the admin key.

No admin key configured = the admin API is disabled (403), so an unconfigured gateway never exposes it.
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from finops.core.errors import AuthenticationError, PermissionDeniedError
from finops.governance.focus import CostExport, export_day
from finops.governance.governor import Governance
from finops.governance.keys import key_json
from finops.governance.reports import parse_time
from finops.store.keys import VirtualKeyRecord

from .anthropic.requests import parse_json, read_body
from .anthropic.responses import json_response
from .anthropic.services import presented_key, services_of

_MAX_ADMIN_BODY = 64 * 1024


def _governance(request: Request) -> Governance:
    governance: Governance = request.app.state.governance
    configured = services_of(request).settings.governance.admin_key
    if configured is None or not configured.get_secret_value():
        raise PermissionDeniedError("the admin API is disabled: set governance.admin_key to enable it")
    presented = presented_key(request)
    if presented is None or not hmac.compare_digest(presented.encode(), configured.get_secret_value().encode()):
        raise AuthenticationError("invalid admin key")
    return governance


async def _json_body(request: Request) -> Any:
    return parse_json(await read_body(request, _MAX_ADMIN_BODY))


async def _with_spend(governance: Governance, record: VirtualKeyRecord) -> dict[str, Any]:
    return key_json(record, spend_usd=float(await governance.spent(record)))


async def create_key(request: Request) -> Response:
    governance = _governance(request)
    record, secret = await governance.admin.create(await _json_body(request))
    return json_response({**key_json(record), "key": secret}, status_code=201)


async def list_keys(request: Request) -> Response:
    governance = _governance(request)
    return json_response({"data": [key_json(record) for record in await governance.admin.list()]})


async def get_key(request: Request) -> Response:
    governance = _governance(request)
    record = await governance.admin.get(request.path_params["key_id"])
    return json_response(await _with_spend(governance, record))


async def update_key(request: Request) -> Response:
    governance = _governance(request)
    record = await governance.admin.update(request.path_params["key_id"], await _json_body(request))
    return json_response(key_json(record))


async def revoke_key(request: Request) -> Response:
    governance = _governance(request)
    record = await governance.admin.revoke(request.path_params["key_id"])
    return json_response(key_json(record))


async def usage_report(request: Request) -> Response:
    governance = _governance(request)
    query = request.query_params
    start, end = parse_time("from", query.get("from")), parse_time("to", query.get("to"))
    body = await governance.usage_report(query.get("group_by", "key"), start, end)
    body["from"], body["to"] = query.get("from"), query.get("to")
    return json_response(body)


async def usage_export(request: Request) -> Response:
    """``?format=focus|csv&from=&to=``: one CSV row per UTC day x key x provider x model, streamed."""
    _governance(request)
    query = request.query_params
    start, end = export_day("from", query.get("from")), export_day("to", query.get("to"))
    export_format = query.get("format", "focus")
    cost_export: CostExport = request.app.state.cost_export
    chunks = await cost_export.stream(export_format, start, end)
    filename = f"finops-{export_format}-{start or 'first'}-{end or 'last'}.csv"
    headers = {"content-disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8", headers=headers)


ROUTES = [
    Route("/keys", create_key, methods=["POST"]),
    Route("/keys", list_keys, methods=["GET"]),
    Route("/keys/{key_id}", get_key, methods=["GET"]),
    Route("/keys/{key_id}", update_key, methods=["PATCH"]),
    Route("/keys/{key_id}", revoke_key, methods=["DELETE"]),
    Route("/usage", usage_report, methods=["GET"]),
    Route("/usage/export", usage_export, methods=["GET"]),
]
