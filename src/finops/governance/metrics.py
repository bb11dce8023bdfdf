"""Prometheus metrics of LLM calls and governance (the HTTP layer counts its responses itself, in
``finops.api.middleware``). Each app gets its own registry (several gateways may live in one test process).

Label cardinality stays bounded: at most ``_MAX_VALUES`` distinct models and key names per label; the rest
are reported as ``other``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from cachetools import FIFOCache
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from finops.governance.pricing import TokenUsage

_MAX_VALUES = 200
_MAX_CHILDREN = 20_000
_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class _Bounded:
    """Keeps a label's distinct values under a cap."""

    def __init__(self, cap: int = _MAX_VALUES) -> None:
        self._seen: set[str] = set()
        self._cap = cap

    def __call__(self, value: str | None) -> str:
        value = value or "none"
        if value in self._seen:
            return value
        if len(self._seen) >= self._cap:
            return "other"
        self._seen.add(value)
        return value


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._model = _Bounded()
        self._key = _Bounded()
        self._children: FIFOCache[tuple[Counter | Histogram, tuple[str, ...]], Any] = FIFOCache(_MAX_CHILDREN)
        labels = ("provider", "model", "key")
        self.requests = Counter(
            "finops_llm_requests", "LLM requests that reached a provider", labels, registry=self.registry
        )
        self.errors = Counter(
            "finops_llm_errors",
            "LLM requests that failed, by error type",
            ("provider", "error_type"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "finops_llm_request_seconds",
            "Time from admission to the end of the response (streams: the last frame)",
            ("provider", "model"),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter("finops_tokens", "Tokens used", (*labels, "type"), registry=self.registry)
        self.cost = Counter("finops_cost_usd", "Cost in USD (genai-prices)", labels, registry=self.registry)
        self.unpriced = Counter(
            "finops_unpriced_requests",
            "Requests whose model has no known price (cost NULL)",
            ("provider", "model"),
            registry=self.registry,
        )
        self.refused = Counter(
            "finops_refused_requests", "Requests refused by governance", ("reason",), registry=self.registry
        )
        self.cache_requests = Counter(
            "finops_cache_requests",
            "Messages requests the response cache was in play for, by result (hit, miss, bypass)",
            ("result",),
            registry=self.registry,
        )
        self.cache_saved = Counter(
            "finops_cache_saved_usd",
            "What response-cache hits would have cost live (USD)",
            labels,
            registry=self.registry,
        )
        self.ledger_dropped = Counter(
            "finops_ledger_write_failures", "Usage rows that could not be written", registry=self.registry
        )
        self.ledger_late = Counter(
            "finops_ledger_late_answers",
            "Answers sent before their usage row was committed (the database was slower than ledger_wait_seconds)",
            registry=self.registry,
        )
        self.journal_failures = Counter(
            "finops_ledger_journal_failures",
            "Usage rows the local journal could not take (their answers waited for the database instead)",
            registry=self.registry,
        )
        self.journal_replayed = Counter(
            "finops_ledger_journal_replayed_rows",
            "Usage rows a dead process had journaled and not committed, inserted by replaying its journal",
            registry=self.registry,
        )
        self.redis_failures = Counter(
            "finops_redis_failures",
            "Redis calls that failed or timed out (ratelimit: per-process counters used instead; cache: a miss)",
            ("use",),
            registry=self.registry,
        )

    def _child(self, metric: Counter | Histogram, *labels: str) -> Any:
        """``metric.labels(*labels)`` without its lock and argument handling on every request. Bounded like the
        label values themselves; first in, first out, since an evicted child costs one ``labels`` call to find
        again (and a FIFO hit costs what a dict's does, an LRU hit three times that)."""
        key = (metric, labels)
        try:
            return self._children[key]
        except KeyError:
            child = self._children[key] = metric.labels(*labels)
            return child

    def observe_usage(
        self, provider: str, model: str, key: str | None, usage: TokenUsage, cost: Decimal | None, seconds: float | None
    ) -> None:
        model_label, key_label = self._model(model), self._key(key)
        self._child(self.requests, provider, model_label, key_label).inc()
        for kind, count in (
            ("input", usage.input_tokens),
            ("output", usage.output_tokens),
            ("cache_read", usage.cache_read_tokens),
            ("cache_write", usage.cache_write_tokens),
        ):
            if count:
                self._child(self.tokens, provider, model_label, key_label, kind).inc(count)
        if cost is None:
            self._child(self.unpriced, provider, model_label).inc()
        else:
            self._child(self.cost, provider, model_label, key_label).inc(float(cost))
        if seconds is not None:
            self._child(self.latency, provider, model_label).observe(seconds)

    def observe_cache(self, result: str) -> None:
        self._child(self.cache_requests, result).inc()

    def observe_saving(self, provider: str, model: str, key: str | None, saved: Decimal | None) -> None:
        """A cache hit's saving (the hit itself is counted by ``observe_cache``)."""
        model_label, key_label = self._model(model), self._key(key)
        if saved:
            self._child(self.cache_saved, provider, model_label, key_label).inc(float(saved))

    def observe_error(self, provider: str, error_type: str) -> None:
        self.errors.labels(provider, error_type).inc()

    def count_pool_waits(self, read: Callable[[], Mapping[str, int]]) -> None:
        """Expose ``read()`` (provider -> upstream requests that waited for a free connection) at every scrape as
        ``finops_upstream_pool_waits_total``: a count that keeps growing means ``max_connections`` is too low."""
        self.registry.register(_PoolWaits(read))

    def count_cache(self, read: Callable[[], tuple[int, int]]) -> None:
        """Expose ``read()`` (entries this process mirrors, entries it evicted) at every scrape as
        ``finops_cache_entries`` and ``finops_cache_evictions_total``."""
        self.registry.register(_CacheSize(read))


class _CacheSize:
    def __init__(self, read: Callable[[], tuple[int, int]]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        entries, evictions = self._read()
        yield GaugeMetricFamily("finops_cache_entries", "Response-cache entries this process mirrors", value=entries)
        yield CounterMetricFamily(
            "finops_cache_evictions", "Response-cache entries expired or evicted by this process", value=evictions
        )


class _PoolWaits:
    def __init__(self, read: Callable[[], Mapping[str, int]]) -> None:
        self._read = read

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "finops_upstream_pool_waits", "Upstream requests that waited for a free connection", labels=("provider",)
        )
        for provider, count in sorted(self._read().items()):
            family.add_metric((provider,), count)
        yield family
