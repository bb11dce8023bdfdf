"""``GET /metrics`` in the Prometheus text format (responses are counted by ``finops.api.middleware``).

Per-key series name virtual keys and what each spent, which is nobody's business but the operator's. With
``governance.metrics_token`` set, ``/metrics`` answers only a scraper that presents it (``Authorization: Bearer``)
and shows every series. Without it, ``/metrics`` stays open (a scraper needs no set-up) but every series is summed
over its ``key`` label, so totals by provider and model remain and no key name leaves the process.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from starlette.requests import Request
from starlette.responses import Response

from finops.api.anthropic.errors import error_response, request_id_of
from finops.api.anthropic.services import presented_key

_PRIVATE_LABEL = "key"


class _WithoutKeys:
    """A registry view whose series are summed over the ``key`` label (``_created`` keeps the earliest)."""

    def __init__(self, registry: Collector) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        for family in self._registry.collect():
            if not any(_PRIVATE_LABEL in sample.labels for sample in family.samples):
                yield family
                continue
            merged = Metric(family.name, family.documentation, family.type, family.unit)
            merged.samples = list(_summed(family.samples))
            yield merged


def _summed(samples: Iterable[Sample]) -> Iterator[Sample]:
    totals: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for sample in samples:
        labels = tuple(sorted((name, value) for name, value in sample.labels.items() if name != _PRIVATE_LABEL))
        slot = (sample.name, labels)
        if slot not in totals:
            totals[slot] = sample.value
        elif sample.name.endswith("_created"):
            totals[slot] = min(totals[slot], sample.value)
        else:
            totals[slot] += sample.value
    for (name, labels), value in totals.items():
        yield Sample(name, dict(labels), value)


async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics_registry
    token = request.app.state.metrics_token
    if token is None:
        return Response(generate_latest(_WithoutKeys(registry)), media_type=CONTENT_TYPE_LATEST)
    presented = presented_key(request)
    if presented is None or not hmac.compare_digest(presented.encode(), token.encode()):
        return error_response(
            401,
            "authentication_error",
            "metrics need governance.metrics_token as a Bearer token",
            request_id_of(request),
        )
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
