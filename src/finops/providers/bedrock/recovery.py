"""Find and remove what an unfinished create left on Bedrock (``finops.core.recovery``).

Everything a gateway create makes is named after the intent's key, committed before the first upstream call: a
batch's objects live under ``<s3_prefix>/batches/<key>/``, its jobs are named ``<key>-<batch>-p<n>``, and an
uploaded file is the object ``<s3_prefix>/files/<key>``. Recovery stops every job whose name carries the key and
deletes those objects. A job is stopped rather than adopted: the caller never got the batch's ID, so nobody would
read its results, and it would be billed to a key without anyone knowing.
"""

from __future__ import annotations

import contextlib

from finops.core.errors import InvalidRequestError, NotFoundError
from finops.providers.base import CreateIntent
from finops.providers.bedrock.batches import batch_prefix
from finops.providers.bedrock.jobs import JobClient
from finops.providers.bedrock.s3 import S3Client

_STOPPED_OR_ENDED = frozenset({"Stopping", "Stopped", "Completed", "PartiallyCompleted", "Failed", "Expired"})


def file_key(s3_prefix: str, key: str) -> str:
    return f"{s3_prefix}/files/{key}"


async def remove_created(s3: S3Client, jobs: JobClient, s3_prefix: str, intent: CreateIntent) -> int:
    """Stop the intent's jobs and delete its objects; answers how many upstream objects (jobs and S3 objects)
    were found."""
    if intent.kind == "file":
        key = file_key(s3_prefix, intent.upstream_key)
        if await s3.head(key) is None:
            return 0
        await s3.delete(key)
        return 1
    found = 0
    async for job in jobs.find(intent.upstream_key):
        if not str(job.get("jobName") or "").startswith(f"{intent.upstream_key}-"):
            continue
        found += 1
        if job.get("status") not in _STOPPED_OR_ENDED:
            # Already ended or gone between the listing and the stop: nothing left to stop.
            with contextlib.suppress(InvalidRequestError, NotFoundError):
                await jobs.stop(str(job["jobArn"]))
    keys = [item.key async for item in s3.list(batch_prefix(s3_prefix, intent.upstream_key))]
    await s3.delete_all(keys)
    return found + len(keys)
