"""The recovery pass of the intent log (issue 13): what a process killed mid-create left behind.

An intent still ``creating`` whose process is gone (a pid of this machine that no longer exists, or older than
``stale_after`` for a process elsewhere) is a create that never completed: the caller got no answer, so no gateway
ID. Its upstream objects are looked up by the key the create sent (``Recoverable.remove_created`` of the
provider), cancelled and deleted; then the intent is marked ``abandoned``, which releases a batch's reservation in
the same transaction. The caller's view: the create failed, as the broken connection told it; retrying is safe.

Removing rather than adopting is deliberate: the gateway cannot hand the object to a caller who never got its ID,
and an adopted batch would run (and be billed to the key) without anyone knowing to read its results. A batch part
that ran some requests before the cancel reached it is the one cost this leaves unbilled (bounded by the time
from the crash to the pass: start-up, then every ``interval`` seconds).

Providers that keep a key (OpenAI batch metadata and file names, Gemini display names) are searched by it.
Anthropic keeps none: its batches and files are matched by creation time and size (request count; file name and
bytes) among those the gateway has no row for, and an intent is not settled while a running create could match
the same object.

The same pass removes spool files of dead processes (``finops-openai-batch-<pid>-*`` in the temp directory): the
pid in the name says whose they are, so files of a live create are never touched.

It runs at start-up and then as a leased background job (``finops.governance.background``): one process at a
time. Two overlapping passes stay correct: abandoning is conditional on the intent still being ``creating``, and
cancelling or deleting an upstream object twice is harmless.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from finops.core.errors import GatewayError
from finops.providers.base import CallContext, CreateIntent, Recoverable
from finops.providers.registry import ProviderRegistry
from finops.store import Store
from finops.store.intents import Intent

logger = logging.getLogger("finops.core.recovery")

SPOOL = re.compile(r"^finops-[a-z]+-batch-(\d+)-")
"""Temp files and directories of a batch create: ``finops-<provider>-batch-<pid>-<random>``."""


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, not ours to signal
    return True


def remove_dead_spools(directory: Path | None = None) -> int:
    """Remove batch spool files of processes that no longer exist; answers how many went."""
    removed = 0
    root = directory or Path(tempfile.gettempdir())
    try:
        entries = list(root.iterdir())
    except OSError:
        return 0
    for entry in entries:
        match = SPOOL.match(entry.name)
        if match is None or _pid_alive(int(match.group(1))):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            logger.warning("could not remove the spool %s of a dead process", entry)
            continue
        removed += 1
    return removed


CONFUSION_WINDOW = timedelta(minutes=15)
"""Two creates this close in time of the same size (request count, or file name and size) could match each
other's upstream object where the provider keeps no key (Anthropic: ``finops.providers.anthropic.recovery``,
within 5 minutes either side, clocks apart)."""


def _could_be_confused(intent: Intent, other: Intent) -> bool:
    return (
        intent.kind == other.kind
        and intent.provider == other.provider
        and (intent.request_count, intent.filename, intent.size_bytes)
        == (other.request_count, other.filename, other.size_bytes)
        and abs(intent.created_at - other.created_at) <= CONFUSION_WINDOW
    )


class Recovery:
    def __init__(
        self,
        store: Store,
        providers: ProviderRegistry,
        *,
        process_gone: Callable[[str], bool],
        stale_after: timedelta = timedelta(hours=2),
        spool_directory: Path | None = None,
    ) -> None:
        self._store = store
        self._intents = store.intents
        self._providers = providers
        self._process_gone = process_gone
        self._stale_after = stale_after
        self._spool_directory = spool_directory

    def _stale(self, intent: Intent, now: datetime) -> bool:
        return self._process_gone(intent.process) or now - intent.created_at > self._stale_after

    async def run_once(self) -> int:
        """One pass: answers how many intents were settled."""
        now = datetime.now(UTC)
        settled = 0
        open_intents = await self._intents.creating()
        live = [intent for intent in open_intents if not self._stale(intent, now)]
        for intent in open_intents:
            if intent in live:
                continue
            if any(_could_be_confused(intent, other) for other in live):
                # A provider searched by time and size (no key upstream) could take a running create's batch for
                # this one's: wait until that create is done (its batch is then known) or dead too.
                continue
            if await self._settle(intent):
                settled += 1
        spools = remove_dead_spools(self._spool_directory)
        if settled or spools:
            logger.warning("recovery: %d unfinished create(s) removed upstream, %d spool(s) removed", settled, spools)
        return settled

    async def _known(self, intent: Intent) -> frozenset[str]:
        repository = self._store.batches if intent.kind == "batch" else self._store.files
        return await repository.upstream_ids_since(intent.provider, intent.created_at - CONFUSION_WINDOW)

    async def _settle(self, intent: Intent) -> bool:
        try:
            provider = self._providers.get(intent.provider)
        except GatewayError:
            logger.error("recovery: intent %s names provider %r, no longer configured", intent.id, intent.provider)
            return False
        remove = getattr(provider, "remove_created", None)
        if remove is not None:
            created = CreateIntent(
                kind="batch" if intent.kind == "batch" else "file",
                upstream_key=intent.upstream_key,
                created_at=intent.created_at,
                request_count=intent.request_count,
                filename=intent.filename,
                size_bytes=intent.size_bytes,
                known_upstream_ids=await self._known(intent),
            )
            try:
                found = await cast(Recoverable, provider).remove_created(
                    created, CallContext(request_id=f"recover_{intent.id}")
                )
            except GatewayError as exc:
                logger.warning("recovery: %s could not be searched upstream (%s); next pass", intent.id, exc.message)
                return False
            logger.warning(
                "recovery: intent %s (%s on %s): %d upstream object(s) removed",
                intent.id,
                intent.kind,
                intent.provider,
                found,
            )
        else:
            logger.error(
                "recovery: provider %s cannot search for what intent %s created; abandoning it as is",
                intent.provider,
                intent.id,
            )
        return await self._intents.abandon(intent)
