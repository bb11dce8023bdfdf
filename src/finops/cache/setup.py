"""Building the response cache from the gateway's settings (``finops.app`` calls ``build_cache``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from finops.cache.redis_layer import RedisAnswers
from finops.cache.service import ResponseCache
from finops.config import ConfigError, Settings
from finops.providers.embedding import EmbeddingProvider
from finops.providers.registry import ProviderRegistry
from finops.store.cache import CacheRepository


def build_cache(settings: Settings, engine: AsyncEngine, providers: ProviderRegistry) -> ResponseCache:
    """The cache over the store (and Redis when ``redis.url`` is set); its embedding provider must embed."""
    embedding = settings.cache.embedding
    if embedding is not None and not isinstance(providers.get(embedding.provider), EmbeddingProvider):
        raise ConfigError(f"cache.embedding.provider: {embedding.provider} has no embedding API")
    redis = RedisAnswers(settings.redis.url) if settings.redis.url else None
    return ResponseCache(settings.cache, CacheRepository(engine), redis=redis)
