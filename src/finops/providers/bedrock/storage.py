"""What ``providers.bedrock.batch`` turns on: files as S3 objects and batches as model-invocation jobs.

Files live under ``<s3_prefix>/files/<random>``; the S3 key is the upstream ID the gateway stores next to its own
file ID (owner, isolation and listing are the store's, as for every provider). Uploads stream from the spooled
file (multipart above 8 MiB), downloads stream from S3.
"""

from __future__ import annotations

from datetime import UTC, datetime

from finops.config import BedrockBatchSettings, ProviderSettings
from finops.core.ids import new_intent_key
from finops.providers.base import CreateIntent, Download, FileUpload, UpstreamFile
from finops.providers.bedrock.auth import BedrockAuth, region_of, s3_signer
from finops.providers.bedrock.batches import BedrockBatches
from finops.providers.bedrock.jobs import JobClient
from finops.providers.bedrock.on_demand import CreateMessage
from finops.providers.bedrock.recovery import file_key, remove_created
from finops.providers.bedrock.s3 import S3Client

INLINE_LIMIT = 32 * 1024 * 1024
"""The most a referenced file may weigh to be sent inline in a message (the gateway's own message limit)."""


class BedrockFiles:
    def __init__(self, s3: S3Client, prefix: str) -> None:
        self._s3 = s3
        self._s3_prefix = prefix
        self._prefix = f"{prefix}/files/"

    def owns(self, key: str) -> bool:
        return key.startswith(self._prefix)

    async def upload(self, upload: FileUpload, upstream_key: str | None) -> UpstreamFile:
        # Named after the create's intent key, so recovery finds an upload whose row was never written.
        key = file_key(self._s3_prefix, upstream_key or new_intent_key())
        await self._s3.upload(key, upload.file, upload.size_bytes, upload.content_type)
        return UpstreamFile(
            upstream_id=key,
            filename=upload.filename,
            mime_type=upload.content_type,
            size_bytes=upload.size_bytes,
            created_at=datetime.now(UTC),
            # The bytes are the caller's own, kept in the operator's bucket: nothing stops serving them back.
            downloadable=True,
        )

    async def delete(self, key: str) -> None:
        await self._s3.delete(key)

    async def download(self, key: str) -> Download:
        found, chunks = await self._s3.open(key)
        return Download(found.content_type, chunks, found.size if found.size >= 0 else None)

    async def read(self, key: str) -> bytes:
        """A referenced file's bytes, to inline in a message."""
        return await self._s3.read(key, INLINE_LIMIT)

    def uri(self, key: str) -> str:
        return self._s3.uri(key)


class BedrockStorage:
    def __init__(
        self,
        settings: ProviderSettings,
        batch: BedrockBatchSettings,
        auth: BedrockAuth,
        create_message: CreateMessage,
    ) -> None:
        region = region_of(settings)
        s3_region = batch.s3_region or region
        self.s3 = S3Client(
            settings, s3_signer(auth, s3_region), bucket=batch.s3_bucket, region=s3_region, endpoint=batch.s3_url
        )
        control = batch.control_url or f"https://bedrock.{region}.amazonaws.com"
        self.jobs = JobClient(settings, auth, control)
        self.files = BedrockFiles(self.s3, batch.s3_prefix)
        self.batches = BedrockBatches(batch, self.s3, self.jobs, create_message)
        self._s3_prefix = batch.s3_prefix

    async def remove_created(self, intent: CreateIntent) -> int:
        return await remove_created(self.s3, self.jobs, self._s3_prefix, intent)

    async def aclose(self) -> None:
        await self.batches.aclose()
        await self.s3.aclose()
        await self.jobs.aclose()
