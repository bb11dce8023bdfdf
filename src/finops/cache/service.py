"""The response cache: look a request up (exact, then semantic), offer its answer for storing, keep the process's
mirror in step with the store.

Where an answer is looked for, in order: this process's mirror (no I/O); then Redis by key when ``redis.url`` is
set (exact layer); else the mirror again after catching up with the entries other processes stored (at most one
catch-up query per ``_CATCH_UP_SECONDS``, shared by every miss meanwhile, so a miss mostly costs no I/O). An
answer offered on a miss goes into the mirror at once (so this process hits on it from the next request) and into
the store (and Redis) in the background, so a miss waits for no write. A background task catches up with other
processes' entries every ``cache.sync_seconds``, writes hit times for the LRU, drops expired entries and, past
``max_entries``, evicts the least recently used.

A failing store, Redis or embedding call never fails a request: the request is then a miss (logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import orjson

from finops.cache.controls import NO_CONTROLS, CacheControls, CacheDefaults, CachePolicy, controls_from_key, resolve
from finops.cache.index import Vector, unit
from finops.cache.keys import RequestKeys, request_keys
from finops.cache.mirror import Entry, Mirror
from finops.cache.redis_layer import RedisAnswers
from finops.cache.stream import MessageAssembler, replay
from finops.config import CacheSettings
from finops.core.errors import GatewayError, InvalidRequestError
from finops.core.ids import new_message_id
from finops.core.types import JSON, CacheStatus, MessageStream, Principal
from finops.store.cache import CacheEntryHead, CacheRepository, NewCacheEntry

logger = logging.getLogger("finops.cache")

Embed = Callable[[list[str]], Awaitable[list[list[float]]]]
"""Embeds texts for one request (billed to its caller)."""

SHARED_NAMESPACE = "shared"
_PROVISIONAL = 1 << 62
"""Entries this process offered are mirrored under a seq from here up until the store hands out the real one."""
_SETTLE_SECONDS = 30.0
"""How long after its insert a row may still appear behind rows with larger seqs (transactions commit late)."""
_ANSWER_BYTES = 64 << 20
_CATCH_UP_SECONDS = 0.1
"""Least time between two on-miss catch-ups with the store (the periodic one runs every ``sync_seconds``)."""
_WRITE_LINGER_SECONDS = 0.05
"""How long an offered answer waits for others to share its store transaction (it is mirrored meanwhile)."""
_SWEEP_EVERY = 60
"""Sync ticks between two sweeps of expired entries (a pass over every mirrored entry)."""
_SYNC_CHUNK = 256
"""Entries mirrored between two turns of the event loop when catching up (one batch per context: ~2 ms spread
over small groups, up to ~50 ms on a quiet machine when they all go into one HNSW group)."""


@dataclass(frozen=True)
class _Pending:
    local: int
    row: NewCacheEntry
    vector: Vector | None
    ttl_seconds: int


@dataclass(frozen=True)
class CacheHit:
    message: JSON
    similarity: float | None = None


class ResponseCache:
    def __init__(
        self,
        settings: CacheSettings,
        repository: CacheRepository,
        *,
        redis: RedisAnswers | None = None,
        clock: Callable[[], float] = time.time,
        answer_bytes: int = _ANSWER_BYTES,
    ) -> None:
        self.settings = settings
        self._repository = repository
        self._redis = redis
        self._clock = clock
        self._defaults = CacheDefaults(
            mode=settings.mode if settings.enabled else "off",
            ttl_seconds=settings.ttl_seconds,
            threshold=settings.threshold,
            store_truncated=settings.store_truncated,
        )
        embedding = settings.embedding
        self.embedding_id = (
            f"{embedding.provider}:{embedding.model}:{embedding.dimensions or ''}" if embedding else None
        )
        self.mirror = Mirror(answer_bytes)
        self._shared = frozenset(settings.shared_namespace)
        self._provisional = itertools.count(_PROVISIONAL)
        self._touched: dict[int, tuple[float, int]] = {}
        self._settled = 0
        self._loaded = False
        self._synced_at = 0.0
        self._sync_lock = asyncio.Lock()
        self._writes: set[asyncio.Future[Any]] = set()
        self._queued: list[_Pending] = []
        self._flush: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._evicted = 0

    def stats(self) -> tuple[int, int]:
        """(entries mirrored here, entries this process removed from the store) for ``/metrics``."""
        return len(self.mirror), self._evicted

    # Lifecycle --------------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="finops-cache-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.settle()
        with contextlib.suppress(Exception):
            await self._flush_touches()
        if self._redis is not None:
            await self._redis.aclose()

    async def settle(self) -> None:
        """Wait for every store write offered so far (tests, shutdown)."""
        while self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)

    async def _run(self) -> None:
        for tick in itertools.count():
            try:
                await self.sync()
                await self._flush_touches()
                sweep = tick % _SWEEP_EVERY == 0
                if sweep:  # expiry is checked on every lookup anyway: this only frees the memory and the rows
                    for seq in self.mirror.expired(self._clock()):
                        self.mirror.remove(seq)
                if sweep or len(self.mirror) > self.settings.max_entries:
                    await self.evict()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("cache: background sync failed")
            await asyncio.sleep(self.settings.sync_seconds)

    # Policy -----------------------------------------------------------------------------------------------------

    def namespace(self, principal: Principal) -> str:
        if principal.key_id is not None and (principal.key_id in self._shared or principal.key_name in self._shared):
            return SHARED_NAMESPACE
        return principal.owner

    def policy(self, principal: Principal, request: CacheControls = NO_CONTROLS) -> CachePolicy:
        policy = resolve(self._defaults, controls_from_key(principal.cache), request)
        if policy.mode == "semantic" and self.embedding_id is None:
            if request.mode == "semantic":
                raise InvalidRequestError(
                    "x-finops-cache: semantic needs an embedding model; this gateway has no cache.embedding configured"
                )
            policy = replace(policy, mode="exact")  # a key asking for more than the gateway is configured for
        return policy

    def lookup(
        self,
        principal: Principal,
        provider: str,
        body: Mapping[str, Any],
        *,
        controls: CacheControls = NO_CONTROLS,
        beta: str | None = None,
        raw_body: bytes | None = None,
        embed: Embed | None = None,
    ) -> Lookup | None:
        """The request's lookup, or ``None`` when the cache is not in play for it (no answer header then)."""
        policy = self.policy(principal, controls)
        if not policy.active:
            return Lookup(self, policy, None, ("", provider, ""), None) if policy.explicit_off else None
        namespace = self.namespace(principal)
        keys = request_keys(
            namespace,
            provider,
            body,
            beta=beta,
            semantic=policy.mode == "semantic",
            raw_body=raw_body,
        )
        owner = (namespace, provider, str(body.get("model", "")))
        return Lookup(self, policy, keys, owner, embed if policy.mode == "semantic" else None)

    # Finding ----------------------------------------------------------------------------------------------------

    def _touch(self, seq: int, now: float) -> None:
        if seq < _PROVISIONAL:
            _, count = self._touched.get(seq, (now, 0))
            self._touched[seq] = (now, count + 1)

    async def _answer(self, entry: Entry, now: float) -> bytes | None:
        answer = self.mirror.answer(entry.seq)
        if answer is None and entry.seq < _PROVISIONAL:
            stored = await self._repository.answer(entry.seq, now)
            if stored is None:  # expired or evicted by another process
                self.mirror.remove(entry.seq)
                return None
            answer = stored.message
            self.mirror.remember(entry.seq, answer)
        if answer is not None:
            self._touch(entry.seq, now)
        return answer

    async def find_exact(self, keys: RequestKeys) -> bytes | None:
        now = self._clock()
        exact = keys.exact.hex()
        entry = self.mirror.by_key(exact, now)
        if entry is not None:
            answer = await self._answer(entry, now)
            if answer is not None:
                return answer
        if self._redis is not None:
            shared = await self._redis.get(exact)
            if shared is None:
                return None
            seq, expires_at, answer = shared
            if expires_at <= now:
                return None
            self.mirror.add(Entry(seq, exact, None, expires_at), answer=answer)
            self._touch(seq, now)
            return answer
        if not await self._catch_up():
            return None
        entry = self.mirror.by_key(exact, self._clock())
        return await self._answer(entry, now) if entry is not None else None

    async def find_similar(self, keys: RequestKeys, vector: Vector, threshold: float) -> tuple[bytes, float] | None:
        assert keys.context is not None
        context = keys.context.hex()
        found = await self._nearest(context, vector, threshold)
        if found is None and await self._catch_up():
            found = await self._nearest(context, vector, threshold)
        return found

    async def _catch_up(self) -> bool:
        """On a miss: another process may have stored the answer a moment ago. Catches up at most every
        ``_CATCH_UP_SECONDS`` (one indexed query; a burst of misses shares it); ``True`` if it did."""
        if not self._loaded or self._clock() - self._synced_at < _CATCH_UP_SECONDS:
            return False
        await self.sync()
        return True

    async def _nearest(self, context: str, vector: Vector, threshold: float) -> tuple[bytes, float] | None:
        match = self.mirror.nearest(context, vector)
        if match is None or match.similarity < threshold:
            return None
        now = self._clock()
        entry = self.mirror.by_seq(match.seq, now)
        if entry is None:
            return None
        answer = await self._answer(entry, now)
        return (answer, match.similarity) if answer is not None else None

    # Storing ----------------------------------------------------------------------------------------------------

    def offer(
        self,
        keys: RequestKeys,
        owner: tuple[str, str, str],
        message: JSON,
        ttl_seconds: int,
        vector: Vector | None,
    ) -> None:
        """Mirror ``message`` now; write it to the store (and Redis) in the background. ``owner`` is (namespace,
        provider, model), kept beside the key for operators (the key already depends on them)."""
        namespace, provider, model = owner
        now = self._clock()
        answer = orjson.dumps(message)
        exact = keys.exact.hex()
        context = keys.context.hex() if keys.context is not None and vector is not None else None
        local = next(self._provisional)
        expires_at = now + ttl_seconds
        self.mirror.add(Entry(local, exact, context, expires_at), vector, answer)
        row = NewCacheEntry(
            namespace=namespace,
            exact_key=exact,
            context_key=context,
            provider=provider,
            model=model,
            message=answer,
            embedding=self.embedding_id if vector is not None else None,
            vector=vector.astype("<f4").tobytes() if vector is not None else None,
            created_at=now,
            expires_at=expires_at,
        )
        self._queued.append(_Pending(local, row, vector, ttl_seconds))
        if self._flush is None:
            self._flush = asyncio.ensure_future(self._write_soon())
            self._writes.add(self._flush)
            self._flush.add_done_callback(self._writes.discard)

    async def _write_soon(self) -> None:
        """Answers offered within ``_WRITE_LINGER_SECONDS`` go to the store in one transaction: written one by one
        they cost ~2 ms of CPU each (measured), mostly per-transaction work."""
        await asyncio.sleep(_WRITE_LINGER_SECONDS)
        pending, self._queued, self._flush = self._queued, [], None
        try:
            stored = await self._repository.put_many([item.row for item in pending])
        except Exception:
            logger.exception("cache: storing %d answers failed", len(pending))
            for item in pending:
                self.mirror.remove(item.local)
            return
        now = self._clock()
        for item in pending:
            entry = self.mirror.by_seq(item.local, now)
            if entry is None:
                continue
            self.mirror.remove(item.local)
            seq = stored.get(item.row.exact_key)
            if seq is not None:
                self.mirror.add(
                    Entry(seq, entry.exact_key, entry.context_key, entry.expires_at), item.vector, item.row.message
                )
        if self._redis is not None:
            for item in pending:
                seq = stored.get(item.row.exact_key)
                if seq is None:
                    continue
                try:
                    await self._redis.put(
                        item.row.exact_key, seq, item.row.expires_at, item.row.message, item.ttl_seconds
                    )
                except Exception:
                    logger.exception("cache: writing an answer to Redis failed")
        if len(self.mirror) > self.settings.max_entries:
            await self.evict()

    # Keeping in step ----------------------------------------------------------------------------------------------

    def _mirrored(self, head: CacheEntryHead) -> tuple[Entry, Vector | None]:
        vector = None
        if head.vector is not None and head.embedding == self.embedding_id:
            vector = np.frombuffer(head.vector, dtype="<f4").astype(np.float32)
        context = head.context_key if vector is not None else None
        return Entry(head.seq, head.exact_key, context, head.expires_at), vector

    async def sync(self) -> None:
        """Mirror the entries other processes stored since the last call (one call at a time)."""
        if self._sync_lock.locked():
            async with self._sync_lock:  # someone is at it: wait for their result instead of asking again
                return
        async with self._sync_lock:
            now = self._synced_at = self._clock()
            seqs, settled = await self._repository.new_since(self._settled, now - _SETTLE_SECONDS)
            unseen = [seq for seq in seqs if seq not in self.mirror]
            for start in range(0, len(unseen), _SYNC_CHUNK):
                heads = await self._repository.heads(unseen[start : start + _SYNC_CHUNK], now)
                self.mirror.add_many([self._mirrored(head) for head in heads if head.seq not in self.mirror])
                await asyncio.sleep(0)  # a large catch-up (start-up) lets requests run between chunks
            self._settled = settled
            self._loaded = True

    async def _flush_touches(self) -> None:
        touched, self._touched = self._touched, {}
        await self._repository.touch((seq, at, count) for seq, (at, count) in touched.items())

    async def evict(self) -> None:
        """Drop expired entries and the least recently used past ``max_entries`` from the store, Redis and here."""
        await self._flush_touches()
        gone = await self._repository.evict(self._clock(), self.settings.max_entries)
        self._evicted += len(gone)
        for seq, _ in gone:
            self.mirror.remove(seq)
        if gone and self._redis is not None:
            try:
                await self._redis.delete([key for _, key in gone])
            except Exception:
                logger.exception("cache: deleting evicted answers from Redis failed")


class Lookup:
    """One request's use of the cache: ``find`` before the call, ``offer`` (or ``storing`` a stream) after it;
    ``status`` is what the request is answered as."""

    def __init__(
        self,
        cache: ResponseCache,
        policy: CachePolicy,
        keys: RequestKeys | None,
        owner: tuple[str, str, str],
        embed: Embed | None,
    ) -> None:
        self.policy = policy
        self.status = CacheStatus("bypass") if keys is None else CacheStatus("miss")
        self._cache = cache
        self._keys = keys
        self._owner = owner
        self._embed = embed
        self._vector: Vector | None = None

    async def find(self) -> CacheHit | None:
        keys = self._keys
        if keys is None:
            return None
        try:
            answer = await self._cache.find_exact(keys)
            if answer is not None:
                self.status = CacheStatus("hit")
                return CacheHit(_fresh(answer))
            if self._embed is None or keys.question is None or keys.context is None:
                return None
            embedding = self._cache.settings.embedding
            if embedding is None or len(keys.question) > embedding.max_chars:
                return None
            vectors = await self._embed([keys.question])
            self._vector = unit(vectors[0])
            similar = await self._cache.find_similar(keys, self._vector, self.policy.threshold)
        except Exception:
            logger.exception("cache: lookup failed; answering live")
            return None
        if similar is None:
            return None
        answer, similarity = similar
        self.status = CacheStatus("hit", round(similarity, 6))
        return CacheHit(_fresh(answer), self.status.similarity)

    def storable(self, message: JSON) -> bool:
        if self._keys is None or not self.policy.store or self.status.result == "hit":
            return False
        if message.get("type") != "message" or message.get("role") != "assistant":
            return False
        return message.get("stop_reason") != "max_tokens" or self.policy.store_truncated

    def offer(self, message: JSON) -> None:
        if self._keys is not None and self.storable(message):
            self._cache.offer(self._keys, self._owner, message, self.policy.ttl_seconds, self._vector)

    def storing(self, stream: MessageStream) -> MessageStream:
        """``stream`` as it is, with its answer offered once it has ended well."""
        if self._keys is None or not self.policy.store:
            return stream
        return _StoringStream(stream, self)

    def replayed(self, hit: CacheHit) -> MessageStream:
        return _ReplayStream(hit.message)


def _fresh(answer: bytes) -> JSON:
    """A cached message under a new ID (two answers never share one)."""
    message: JSON = orjson.loads(answer)
    message["id"] = new_message_id()
    return message


class _StoringStream:
    """A live stream, assembled as it goes; its message is offered only after a clean ``message_stop``."""

    def __init__(self, stream: MessageStream, lookup: Lookup) -> None:
        self._stream = stream
        self._lookup = lookup
        self._assembler = MessageAssembler()

    @property
    def usage(self) -> JSON | None:
        return self._stream.usage

    @usage.setter
    def usage(self, value: JSON | None) -> None:
        self._stream.usage = value

    @property
    def error(self) -> GatewayError | None:
        return self._stream.error

    @error.setter
    def error(self, value: GatewayError | None) -> None:
        self._stream.error = value

    async def __aiter__(self) -> AsyncGenerator[bytes, None]:
        async for frame in self._stream:
            self._assembler.feed(frame)
            yield frame
        message = self._assembler.message
        if message is not None and self._stream.error is None:
            self._lookup.offer(message)

    async def aclose(self) -> None:
        await self._stream.aclose()


class _ReplayStream:
    """A cached answer as a stream: the frames a live stream of it would have sent."""

    error: GatewayError | None = None

    def __init__(self, message: JSON) -> None:
        self.usage: JSON | None = message.get("usage")
        self._frames = replay(message)

    async def __aiter__(self) -> AsyncGenerator[bytes, None]:
        for frame in self._frames:
            yield frame

    async def aclose(self) -> None:
        return None
