"""Files: policy -> provider adapter -> store. Calls on an ID use the provider recorded with it."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import UTC, datetime

from finops.core.cleanup import quietly
from finops.core.errors import NotFoundError, UpstreamError
from finops.core.faults import AFTER_INTENT, AFTER_UPSTREAM_CREATE, fault_point
from finops.core.ids import new_file_id
from finops.core.types import Principal
from finops.providers.base import CallContext, Download, FileUpload
from finops.providers.registry import ProviderRegistry
from finops.store import Store
from finops.store.intents import new_intent
from finops.store.records import FileRecord, Page


class FileService:
    def __init__(self, store: Store, providers: ProviderRegistry, *, process: str = "") -> None:
        self._store = store
        self._process = process  # names this process in its intents (recovery asks whether it is still alive)
        self._providers = providers

    def check_provider(self, name: str) -> None:
        """Refuse early (before an upload is even read) when the provider has no Files API."""
        self._providers.get(name, needs="files")

    async def upload(
        self, principal: Principal, provider_name: str, upload: FileUpload, ctx: CallContext
    ) -> FileRecord:
        provider = self._providers.get(provider_name, needs="files")
        file_id = new_file_id()
        intent = new_intent(
            self._process,
            "file",
            provider_name,
            principal.owner,
            file_id,
            filename=upload.filename,
            size_bytes=upload.size_bytes,
        )
        await self._store.intents.open(intent)  # committed before a byte goes upstream
        fault_point(AFTER_INTENT)
        try:
            upstream = await provider.upload_file(upload, replace(ctx, upstream_key=intent.upstream_key))
        except BaseException:
            await quietly(self._store.intents.abandon(intent))
            raise
        fault_point(AFTER_UPSTREAM_CREATE)
        record = FileRecord(
            id=file_id,
            provider=provider_name,
            upstream_id=upstream.upstream_id,
            owner=principal.owner,
            filename=upload.filename,
            mime_type=upload.content_type,
            size_bytes=upstream.size_bytes,
            downloadable=upstream.downloadable,
            created_at=datetime.now(UTC),
        )
        try:
            await self._store.intents.complete_file(intent.id, record)
        except Exception as exc:
            # Never leave an upstream file the caller cannot see or delete.
            await quietly(provider.delete_file(upstream.upstream_id, ctx))
            await quietly(self._store.intents.abandon(intent))
            raise UpstreamError("the file could not be recorded; nothing was kept") from exc
        return record

    async def get(self, principal: Principal, file_id: str) -> FileRecord:
        record = await self._store.files.get(file_id, principal.owner)
        if record is None:
            raise NotFoundError(f"File not found: {file_id}")
        return record

    async def list(
        self,
        principal: Principal,
        provider_name: str,
        *,
        limit: int,
        after_id: str | None,
        before_id: str | None,
    ) -> Page[FileRecord]:
        self._providers.get(provider_name, needs="files")
        return await self._store.files.list(
            principal.owner, provider_name, limit=limit, after_id=after_id, before_id=before_id
        )

    async def delete(self, principal: Principal, file_id: str, ctx: CallContext) -> FileRecord:
        record = await self.get(principal, file_id)
        provider = self._providers.get(record.provider)
        # Already gone upstream (expired, deleted out of band): forgetting it is the right outcome.
        with contextlib.suppress(NotFoundError):
            await provider.delete_file(record.upstream_id, ctx)
        await self._store.files.mark_deleted(record.id)
        return record

    async def download(self, principal: Principal, file_id: str, ctx: CallContext) -> Download:
        record = await self.get(principal, file_id)
        return await self._providers.get(record.provider).download_file(record.upstream_id, ctx)
