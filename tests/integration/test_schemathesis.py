"""Anthropic's own OpenAPI spec, fuzzed by schemathesis against a demo gateway (``finops serve --demo``, a real
process in front of all four emulators), once per provider: whatever the spec lets a client send to messages,
count_tokens, files and batches, the gateway never answers 5xx (issue 13 item 11).

Deterministic and bounded: hypothesis runs derandomized (a fixed seed, the same cases every run) with
``EXAMPLES`` cases per operation, which takes roughly half a minute per provider.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.support.demo import demo_gateway
from tests.support.specs import SPECS_DIR

EXAMPLES = 25
PROVIDERS = ["anthropic", "openai", "gemini", "bedrock"]
OPERATIONS = r"^/v1/(messages(/count_tokens|/batches.*)?|files.*)(\?beta=true)?$"

schema = schemathesis.openapi.from_path(SPECS_DIR / "anthropic" / "openapi.json").include(path_regex=OPERATIONS)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with demo_gateway(tmp_path_factory.mktemp("schemathesis-demo")) as url:
        yield f"{url}/anthropic"


@pytest.fixture(params=PROVIDERS)
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error(case: schemathesis.Case, gateway: str, provider: str) -> None:
    headers = {"x-api-key": "fuzz-key", "x-model-provider": provider, "anthropic-version": "2023-06-01"}
    response = case.call(base_url=gateway, headers=headers, timeout=60)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:500]}"
    )
