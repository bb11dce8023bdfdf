"""Building the response cache from the gateway's settings (``finops.app`` calls ``build_cache``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine
from threadpoolctl import threadpool_limits

from finops.cache.redis_layer import RedisAnswers
from finops.cache.service import ResponseCache
from finops.config import ConfigError, Settings
from finops.providers.embedding import EmbeddingProvider
from finops.providers.registry import ProviderRegistry
from finops.store.cache import CacheRepository


def build_cache(settings: Settings, engine: AsyncEngine, providers: ProviderRegistry) -> ResponseCache:
    """The cache over the store (and Redis when ``redis.url`` is set); its embedding provider must embed.

    BLAS is held to one thread in this process: the index's brute-force search is a matrix-vector product of at
    most 1,024 rows, which a thread pool does not speed up but does stall when it waits for a busy core."""
    threadpool_limits(limits=1, user_api="blas")
    embedding = settings.cache.embedding
    if embedding is not None and not isinstance(providers.get(embedding.provider), EmbeddingProvider):
        raise ConfigError(f"cache.embedding.provider: {embedding.provider} has no embedding API")
    redis = None
    if settings.redis.url:
        redis = RedisAnswers(
            settings.redis.url,
            connect_timeout=settings.redis.connect_timeout_seconds,
            timeout=settings.redis.timeout_seconds,
        )
    return ResponseCache(settings.cache, CacheRepository(engine), redis=redis)
