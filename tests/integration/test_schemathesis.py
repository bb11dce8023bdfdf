"""Anthropic's own OpenAPI spec, fuzzed by schemathesis against a demo gateway (``finops serve --demo``, a real
process in front of all four emulators): whatever the spec lets a client send to messages, count_tokens, files
and batches, the gateway never answers 5xx, on any provider (issue 13 item 11).

Deterministic and bounded: hypothesis runs derandomized (a fixed seed: the same cases every run). Schemathesis
runs three phases per operation: the spec's examples, ``EXAMPLES`` generated (fuzzing) cases, and its coverage
phase, every boundary and every violation of each field the schema defines, which is ~7,000 cases for messages,
count_tokens and batch creates (this spec's request schema is large). Examples and fuzzing cases go to every
provider. A coverage case goes to one, picked from a hash of the case (``provider_of``), so each provider gets a
fixed quarter of them: those cases are mostly refused by the request parse all providers share, and sending every
one four times cost ~9 of the suite's minutes.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from tests.support.demo import demo_gateway
from tests.support.specs import SPECS_DIR

EXAMPLES = 10
PROVIDERS = ["anthropic", "openai", "gemini", "bedrock"]
# The beta-flagged copies of messages and batches are the same operations; files exist only flagged.
OPERATIONS = r"^/v1/(messages(/count_tokens|/batches.*)?|files(/.*)?\?beta=true)$"

schema = schemathesis.openapi.from_path(SPECS_DIR / "anthropic" / "openapi.json").include(path_regex=OPERATIONS)


def providers_of(case: schemathesis.Case) -> list[str]:
    if case.meta is None or case.meta.phase.name != "coverage":
        return PROVIDERS
    fields = (case.method, case.path, case.path_parameters, case.query, case.headers, case.body)
    return [PROVIDERS[zlib.crc32(repr(fields).encode()) % len(PROVIDERS)]]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with demo_gateway(tmp_path_factory.mktemp("schemathesis-demo")) as url:
        yield f"{url}/anthropic"


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure prints the case as found
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error(case: schemathesis.Case, gateway: str) -> None:
    for provider in providers_of(case):
        headers = {"x-api-key": "fuzz-key", "x-model-provider": provider, "anthropic-version": "2023-06-01"}
        response = case.call(base_url=gateway, headers=headers, timeout=60)
        assert response.status_code < 500, (
            f"{provider}: {case.method} {case.formatted_path} -> {response.status_code} {response.text[:300]}\n"
            f"body: {str(case.body)[:2000]}"
        )
