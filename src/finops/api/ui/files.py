"""Files: every file (the admin sees every owner's) with provider, size and age; delete goes through the same
file service as the Anthropic API's ``DELETE /v1/files/{id}``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from finops.core.errors import NotFoundError
from finops.core.ids import shown_id

from .auth import form_of, viewer_of
from .pages import cursor, owner_label, owner_names, root
from .render import page
from .services import call_context, console_of

PAGE_SIZE = 50


async def files_page(request: Request) -> Response:
    viewer = await viewer_of(request)
    console = console_of(request)
    records, older = await console.reports.files(owner=viewer.only_owner, before_seq=cursor(request), limit=PAGE_SIZE)
    names = owner_names(await console.governance.admin.list()) if viewer.is_admin else {}
    rows = [{"file": record, "owner": owner_label(record.owner, names)} for record in records]
    return page(request, "files.html", {"rows": rows, "older": older})


async def delete_file(request: Request) -> Response:
    viewer = await viewer_of(request)
    await form_of(request, viewer)
    console = console_of(request)
    file_id = request.path_params["file_id"]
    record = await console.reports.file(file_id, owner=viewer.only_owner)
    if record is None:
        raise NotFoundError(f"File not found: {shown_id(file_id)}")
    await console.files.delete(viewer.acting_for(record.owner), record.id, call_context(request))
    return RedirectResponse(f"{root(request)}/files", status_code=303)
