"""What the console's handlers reach through ``request.app.state.console``: the same governance and core services
the admin and Anthropic APIs use, plus the console's own read model and sessions."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from finops.config import Settings
from finops.core.batch_parts import BatchParts
from finops.core.batches import BatchService
from finops.core.files import FileService
from finops.core.types import CallContext
from finops.governance.governor import Governance
from finops.governance.overview import ConsoleReports
from finops.store.reports import ReportRepository
from finops.store.sessions import SessionRepository


@dataclass
class Console:
    settings: Settings
    governance: Governance
    sessions: SessionRepository
    reports: ReportRepository
    overview: ConsoleReports
    files: FileService
    batches: BatchService
    batch_parts: BatchParts


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def call_context(request: Request) -> CallContext:
    """The context core services pass to a provider (the console's own request id, for upstream logs)."""
    return CallContext(request_id=request.scope.get("state", {}).get("request_id") or "console")
