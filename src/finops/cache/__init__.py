"""The response cache: exact and semantic layers, namespaced per owner, stored in the gateway's store and
mirrored in each process (``service.ResponseCache``)."""

from finops.cache.controls import CacheControls, controls_from_headers
from finops.cache.service import CacheHit, Lookup, ResponseCache

__all__ = ["CacheControls", "CacheHit", "Lookup", "ResponseCache", "controls_from_headers"]
