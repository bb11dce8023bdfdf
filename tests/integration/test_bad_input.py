"""Bad input is a 4xx in Anthropic's envelope on every provider: never a 500, never sent upstream, never written.

Issue 13 item 11's shapes (wrong types that used to reach the translators, JSON nested too deep, a non-ASCII header,
an undecodable page token) and the field policy's refusals, each sent to a gateway in front of all four emulators.
After each call no emulator has seen a request; at the end the store holds no usage, batch or file row but the one
of a good call made last, which proves the ledger was writing all along.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from finops.emulators.anthropic.app import create_app as anthropic_emulator_app
from finops.emulators.bedrock.app import create_app as bedrock_emulator_app
from finops.emulators.gemini.app import create_app as gemini_emulator_app
from finops.emulators.openai.app import create_app as openai_emulator_app
from tests.conftest import UPSTREAM_KEY
from tests.support.anthropic_api import assert_envelope
from tests.support.emulator import EmulatorHandle
from tests.support.gateway import running_gateway
from tests.support.governance import wait_for
from tests.support.servers import serve_in_thread

AWS_KEY_ID, AWS_SECRET = "AKIAFINOPSEMULATOR", "finops-emulator-secret"
MODELS = {
    "anthropic": "claude-3-5-haiku-20241022",
    "openai": "gpt-4o-mini",
    "gemini": "gemini-2.0-flash",
    "bedrock": "amazon.nova-lite-v1:0",
}
PROVIDERS = list(MODELS)
DEEP = 300  # between orjson's re-serialisation limit (255) and its parse limit (1024)


@dataclass(frozen=True)
class Shape:
    id: str
    params: dict[str, Any] = field(default_factory=dict)
    """Merged into a good body (``None`` removes the key)."""
    path: str = "/v1/messages"
    status: int = 400
    message: str = ""
    """The start of the error message (``{model}`` and ``{provider}`` filled in)."""
    method: str = "POST"
    headers: dict[str, Any] = field(default_factory=dict)
    raw: bytes | None = None


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"deeper": value}
    return value


def content(*blocks: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": list(blocks)}]}


TEXT_DOCUMENT = {"type": "document", "title": 5, "source": {"type": "text", "media_type": "text/plain", "data": "x"}}
BAD_IMAGE = {"type": "image", "source": {"type": "base64", "media_type": {"type": "png"}, "data": "iVBORw0KGgo="}}

SHAPES = [
    Shape("system is a number", {"system": 5}, message="system: Input should be a valid list"),
    Shape(
        "tool_choice is a string", {"tool_choice": "auto"}, message="tool_choice: Input should be a valid dictionary"
    ),
    Shape("metadata is a string", {"metadata": "x"}, message="metadata: Input should be a valid dictionary"),
    Shape("a content block is a number", content(5), message="messages.0.content.0: Input should be a valid dict"),
    Shape("text block without text", content({"type": "text"}), message="messages.0.content.0.text: Field required"),
    Shape("image media_type is an object", content(BAD_IMAGE), message="messages.0.content.0.source.media_type: "),
    Shape("document title is a number", content(TEXT_DOCUMENT), message="messages.0.content.0.title: Input should"),
    Shape(
        "count_tokens: document title is a number",
        {**content(TEXT_DOCUMENT), "max_tokens": None},
        path="/v1/messages/count_tokens",
        message="messages.0.content.0.title: Input should be a valid string",
    ),
    Shape(
        "count_tokens: system is a number",
        {"system": 5, "max_tokens": None},
        path="/v1/messages/count_tokens",
        message="system: Input should be a valid list",
    ),
    Shape(
        "stream with a bad block", {"stream": True, **content({"type": "text"})}, message="messages.0.content.0.text"
    ),
    Shape(
        f"JSON nested {DEEP} deep",
        {
            "messages": [
                {"role": "user", "content": "call it"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": nested(DEEP)}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "done"}]},
            ]
        },
        message="Request body is nested more than 128 levels deep",
    ),
    Shape("JSON nested 1024 deep", raw=b"[" * 1024 + b"]" * 1024, message="Request body is nested more than"),
    Shape("not JSON", raw=b'{"model": ', message="Request body is not valid JSON"),
    Shape("anthropic-beta: café", headers={"anthropic-beta": "café".encode()}, message="anthropic-beta: header"),
    Shape("page token not UTF-8", method="GET", path="/v1/files?page=page_%FF%FF", message="page: not a page token"),
    Shape("limit in other digits", method="GET", path="/v1/messages/batches?limit=%C2%B2", message="limit: must be"),
    Shape("batch body is an array", path="/v1/messages/batches", raw=b"[null, null]"),  # found by schemathesis
    Shape(
        "batch request with a wrong type",
        path="/v1/messages/batches",
        raw=None,
        params={"__batch__": [{"system": 5}]},
        message="requests.1.params.system: Input should be a valid list",
    ),
]

# One feature each provider refuses today (see docs/compatibility.md); Anthropic refuses nothing by policy.
REFUSALS = {
    "openai": Shape(
        "a web fetch server tool",
        {"tools": [{"type": "web_fetch_20250910", "name": "web_fetch"}]},
        message="tools.0: tool type 'web_fetch_20250910' is not supported by provider 'openai' (model gpt-4o-mini)",
    ),
    "gemini": Shape(
        "a web fetch server tool",
        {"tools": [{"type": "web_fetch_20250910", "name": "web_fetch"}]},
        message="tools.0: tool type 'web_fetch_20250910' is not supported by provider 'gemini' (model gemini-2.0-"
        "flash)",
    ),
    "bedrock": Shape(
        "a web search server tool",
        {"tools": [{"type": "web_search_20250305", "name": "web_search"}]},
        message="tools.0: tool type 'web_search_20250305' is not supported by provider 'bedrock'",
    ),
}


def good_params(provider: str) -> dict[str, Any]:
    return {"model": MODELS[provider], "max_tokens": 16, "messages": [{"role": "user", "content": "What is 2+2?"}]}


def body_of(shape: Shape, provider: str) -> dict[str, Any]:
    body = {**good_params(provider), **shape.params}
    return {key: value for key, value in body.items() if value is not None}


@pytest.fixture(scope="module")
def emulators() -> Iterator[dict[str, EmulatorHandle]]:
    apps = {
        "anthropic": anthropic_emulator_app(batch_seconds=1.0),
        "openai": openai_emulator_app(batch_seconds=1.0),
        "gemini": gemini_emulator_app(batch_seconds=1.0),
        "bedrock": bedrock_emulator_app(access_key_id=AWS_KEY_ID, secret_access_key=AWS_SECRET),
    }
    with (
        serve_in_thread(apps["anthropic"]) as anthropic_url,
        serve_in_thread(apps["openai"]) as openai_url,
        serve_in_thread(apps["gemini"]) as gemini_url,
        serve_in_thread(apps["bedrock"]) as bedrock_url,
    ):
        urls = {"anthropic": anthropic_url, "openai": openai_url, "gemini": gemini_url, "bedrock": bedrock_url}
        yield {name: EmulatorHandle(url) for name, url in urls.items()}


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bad-input") / "finops.db"


@pytest.fixture(scope="module")
def gateway(emulators: dict[str, EmulatorHandle], database: Path) -> Iterator[str]:
    providers = {
        "anthropic": {"api_key": UPSTREAM_KEY, "base_url": emulators["anthropic"].base_url},
        "openai": {"api_key": "sk-openai-upstream", "base_url": f"{emulators['openai'].base_url}/v1"},
        "gemini": {"api_key": "AIzaFinopsTestUpstreamKey0123456789abcdef", "base_url": emulators["gemini"].base_url},
        "bedrock": {
            "region": "us-east-1",
            "base_url": emulators["bedrock"].base_url,
            "access_key_id": AWS_KEY_ID,
            "secret_access_key": AWS_SECRET,
        },
    }
    with running_gateway(providers, f"sqlite+aiosqlite:///{database}") as base:
        yield f"{base}/anthropic"


def upstream_calls(emulators: dict[str, EmulatorHandle]) -> dict[str, int]:
    return {name: emulator.request_count() for name, emulator in emulators.items()}


def send(gateway: str, provider: str, shape: Shape) -> httpx.Response:
    headers = {"x-api-key": "caller-key", "x-model-provider": provider, **shape.headers}
    url = f"{gateway}{shape.path}"
    if shape.method == "GET":
        return httpx.get(url, headers=headers, timeout=30)
    if "__batch__" in shape.params:
        requests = [{"custom_id": "good", "params": good_params(provider)}]
        for index, extra in enumerate(shape.params["__batch__"]):
            requests.append({"custom_id": f"bad-{index}", "params": {**good_params(provider), **extra}})
        return httpx.post(url, headers=headers, json={"requests": requests}, timeout=30)
    if shape.raw is not None:
        return httpx.post(url, headers={**headers, "content-type": "application/json"}, content=shape.raw, timeout=30)
    return httpx.post(url, headers=headers, json=body_of(shape, provider), timeout=30)


def assert_refused_before_upstream(
    gateway: str, emulators: dict[str, EmulatorHandle], provider: str, shape: Shape
) -> None:
    before = upstream_calls(emulators)
    response = send(gateway, provider, shape)
    assert 400 <= response.status_code < 500, f"{shape.id}: HTTP {response.status_code} {response.text}"
    error = assert_envelope(response, response.status_code, response.json()["error"]["type"])
    if response.status_code == 400:
        assert error["error"]["type"] == "invalid_request_error", response.text
    bedrock_refusal = provider == "bedrock" and shape.path.startswith(("/v1/messages/batches", "/v1/files"))
    if shape.message and not bedrock_refusal:  # Bedrock refuses files and batches calls whatever they hold
        assert error["error"]["message"].startswith(shape.message), f"{shape.id}: {error['error']['message']}"
    assert upstream_calls(emulators) == before, f"{shape.id}: the request reached an upstream"


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: shape.id)
def test_bad_shapes_are_400_before_any_upstream(
    gateway: str, emulators: dict[str, EmulatorHandle], provider: str, shape: Shape
) -> None:
    assert_refused_before_upstream(gateway, emulators, provider, shape)


@pytest.mark.parametrize("provider", sorted(REFUSALS))
def test_policy_refusals_name_the_field_and_provider(
    gateway: str, emulators: dict[str, EmulatorHandle], provider: str
) -> None:
    shape = REFUSALS[provider]
    assert_refused_before_upstream(gateway, emulators, provider, shape)
    counted = Shape(f"count_tokens: {shape.id}", {**shape.params, "max_tokens": None}, "/v1/messages/count_tokens")
    assert_refused_before_upstream(gateway, emulators, provider, counted)
    if provider != "bedrock":  # Bedrock has no batches: refused whatever the body says
        batch = Shape(f"batch: {shape.id}", {"__batch__": [shape.params]}, "/v1/messages/batches")
        response = send(gateway, provider, batch)
        assert response.status_code == 400
        assert response.json()["error"]["message"].startswith(f"requests.1.params.{shape.message.split(':')[0]}")


def test_nothing_was_written_but_the_good_calls(
    gateway: str, emulators: dict[str, EmulatorHandle], database: Path
) -> None:
    """Runs after the refusals above (file order): the store has no row from any of them, only from the good
    calls made here, one per provider, and one Anthropic call with a block type the gateway does not know (the
    policy passes it on: the upstream judges, and this emulator accepts it)."""
    calls = [(provider, good_params(provider)) for provider in PROVIDERS]
    calls.append(("anthropic", {**good_params("anthropic"), **content({"type": "future_block", "data": 1})}))
    for provider, body in calls:
        before = emulators[provider].request_count()
        response = httpx.post(
            f"{gateway}/v1/messages",
            headers={"x-api-key": "caller-key", "x-model-provider": provider},
            json=body,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        assert emulators[provider].request_count() == before + 1

    def rows(table: str) -> int:
        with sqlite3.connect(database) as connection:
            return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    wait_for(lambda: rows("usage_records") >= len(calls))
    assert rows("usage_records") == len(calls)
    assert rows("batches") == rows("batch_costs") == rows("files") == 0
