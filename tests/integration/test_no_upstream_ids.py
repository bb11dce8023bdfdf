"""No upstream object ID ever leaves the gateway: a sweep over the files, batches and messages error paths (and
the answers next to them) on all four providers.

Callers know the gateway's IDs (``file_…``, ``msgbatch_…``, 24 random characters); the upstream's (Anthropic
``file_011C…``/``msgbatch_011C…``, OpenAI ``file-…``/``batch_…``, Gemini ``files/…``/``batches/…``, Gemini's bare
names) must appear in no status line, header or body, whether the gateway wrote the error, relayed the upstream's,
or the upstream named its object in a message (a file deleted behind the gateway's back, a batch whose results
are gone). Every upstream call is also made to fail with each status the error policy maps. Bedrock has no Files
API and no inline batches: its refusals speak of files for files calls and of batch jobs for batch calls.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.emulator import EmulatorHandle
from tests.support.four_providers import GEMINI_KEY, UPSTREAM_KEYS, four_emulators, providers_section
from tests.support.gateway import running_gateway

CALLER = "caller-key-for-the-id-sweep"
MODELS = {
    "anthropic": "claude-3-5-haiku-20241022",
    "openai": "gpt-4o-mini",
    "gemini": "gemini-2.5-flash",
    "bedrock": "amazon.nova-lite-v1:0",
}
FAULTS = (400, 404, 429, 500, 503)
# Object IDs shaped like each provider's (the gateway's own are ``file_``/``msgbatch_`` + 24 base62 characters).
UPSTREAM_ID_SHAPES = (
    re.compile(r"\b(?:file|msgbatch)_011C[A-Za-z0-9]{20}\b"),  # Anthropic
    re.compile(r"\bfile-[A-Za-z0-9]{8,}"),  # OpenAI files
    re.compile(r"\bbatch_[0-9a-f]{16,}"),  # OpenAI batches
    re.compile(r"(?<![/\w])(?:files|batches)/[a-z0-9][a-z0-9-]{5,}"),  # Gemini resource names (not URL paths)
)
ASK = {"max_tokens": 64, "messages": [{"role": "user", "content": "What is 2+2?"}]}


@dataclass
class Seen:
    """Every answer the sweep got, and the upstream IDs the gateway stored meanwhile."""

    answers: list[tuple[str, httpx.Response]] = field(default_factory=list)

    def errors(self, provider: str) -> list[httpx.Response]:
        return [response for name, response in self.answers if name == provider and response.status_code >= 400]


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, str]]:
    with four_emulators(batch_seconds=0.3) as urls:
        yield urls


@pytest.fixture(scope="module")
def gateway(upstreams: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    database = tmp_path_factory.mktemp("ids") / "finops.db"
    with running_gateway(providers_section(upstreams), f"sqlite+aiosqlite:///{database}") as base:
        yield f"{base}/anthropic", database


class Caller:
    """Raw HTTP through the gateway as one provider's caller, keeping every answer (bodies read whole)."""

    def __init__(self, base: str, provider: str, seen: Seen) -> None:
        self.provider = provider
        self.seen = seen
        headers = {"x-api-key": CALLER, "anthropic-version": "2023-06-01", "x-model-provider": provider}
        self.http = httpx.Client(base_url=base, headers=headers, timeout=30)

    def __call__(self, method: str, path: str, **options: Any) -> httpx.Response:
        response = self.http.request(method, path, **options)
        self.seen.answers.append((self.provider, response))
        return response

    def upload(self) -> httpx.Response:
        return self("POST", "/v1/files", files={"file": ("notes.txt", b"The secret token is 1234.", "text/plain")})

    def message(self, **extra: Any) -> httpx.Response:
        return self("POST", "/v1/messages", json={"model": MODELS[self.provider], **ASK, **extra})

    def batch(self) -> httpx.Response:
        params = {"model": MODELS[self.provider], **ASK}
        return self("POST", "/v1/messages/batches", json={"requests": [{"custom_id": "one", "params": params}]})

    def ended(self, batch_id: str) -> None:
        deadline = time.monotonic() + 30
        while self("GET", f"/v1/messages/batches/{batch_id}").json()["processing_status"] != "ended":
            assert time.monotonic() < deadline, f"batch {batch_id} never ended"
            time.sleep(0.1)


def stored_upstream_ids(database: Path) -> set[str]:
    """Every upstream ID the gateway recorded (files, batches and the batches' parts), and Gemini's bare names."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT upstream_id FROM files").fetchall()
        rows += connection.execute("SELECT upstream_id || ' ' || upstream_state FROM batches").fetchall()
    found: set[str] = set()
    for (text,) in rows:
        for shape in UPSTREAM_ID_SHAPES:
            found.update(shape.findall(text))
        if not text.startswith("{"):
            found.add(text.split(" ")[0])
    found |= {name.split("/", 1)[1] for name in found if name.startswith(("files/", "batches/"))}
    return {name for name in found if len(name) >= 8}


def delete_upstream_file(provider: str, url: str, upstream_id: str) -> None:
    """Delete a file behind the gateway's back, as expiry or another tool would."""
    if provider == "anthropic":
        headers = {"x-api-key": UPSTREAM_KEYS["anthropic"], "anthropic-version": "2023-06-01"}
        response = httpx.delete(f"{url}/v1/files/{upstream_id}", headers=headers)
    elif provider == "openai":
        headers = {"authorization": f"Bearer {UPSTREAM_KEYS['openai']}"}
        response = httpx.delete(f"{url}/v1/files/{upstream_id}", headers=headers)
    else:
        response = httpx.delete(f"{url}/v1beta/{upstream_id}", headers={"x-goog-api-key": GEMINI_KEY})
    response.raise_for_status()


def upstream_id(database: Path, table: str, gateway_id: str) -> str:
    with sqlite3.connect(database) as connection:
        (found,) = connection.execute(f"SELECT upstream_id FROM {table} WHERE id = ?", (gateway_id,)).fetchone()
    return str(found)


def delete_upstream_results(provider: str, url: str, batch_upstream_id: str) -> None:
    """Make an ended batch's results vanish upstream."""
    if provider == "anthropic":
        headers = {"x-api-key": UPSTREAM_KEYS["anthropic"], "anthropic-version": "2023-06-01"}
        httpx.delete(f"{url}/v1/messages/batches/{batch_upstream_id}", headers=headers).raise_for_status()
    elif provider == "openai":
        headers = {"authorization": f"Bearer {UPSTREAM_KEYS['openai']}"}
        batch = httpx.get(f"{url}/v1/batches/{batch_upstream_id}", headers=headers).json()
        httpx.delete(f"{url}/v1/files/{batch['output_file_id']}", headers=headers).raise_for_status()
    else:
        headers = {"x-goog-api-key": GEMINI_KEY}
        httpx.delete(f"{url}/v1beta/{batch_upstream_id}", headers=headers).raise_for_status()


def with_fault(emulator: EmulatorHandle, status: int, call: Callable[[], httpx.Response]) -> httpx.Response:
    """``call`` with the upstream's next answer (whatever its path) failing with ``status``."""
    emulator.reset()  # faults a previous call did not use are dropped (caches too; files and batches stay)
    emulator.fail_next(status)
    try:
        return call()
    finally:
        emulator.reset()


def sweep(caller: Caller, emulator: EmulatorHandle, url: str, database: Path) -> None:
    """Every files, batches and messages path that can fail on a provider with a Files API and batches."""
    provider = caller.provider
    uploaded = caller.upload()
    assert uploaded.status_code == 200, uploaded.text
    file_id = uploaded.json()["id"]
    document = {"type": "document", "source": {"type": "file", "file_id": file_id}}
    caller.message(messages=[{"role": "user", "content": [document, {"type": "text", "text": "Summarise it."}]}])
    caller("GET", f"/v1/files/{file_id}/content")  # refused by most providers for an uploaded file
    batch = caller.batch()
    assert batch.status_code == 200, batch.text
    batch_id = batch.json()["id"]
    caller("GET", f"/v1/messages/batches/{batch_id}/results")  # not ended yet
    caller.ended(batch_id)

    stream = {"stream": True}
    for status in FAULTS:
        with_fault(emulator, status, caller.upload)
        with_fault(emulator, status, lambda: caller("GET", f"/v1/files/{file_id}/content"))
        with_fault(emulator, status, caller.message)
        with_fault(emulator, status, lambda: caller.message(**stream))
        with_fault(
            emulator,
            status,
            lambda: caller(
                "POST", "/v1/messages/count_tokens", json={"model": MODELS[provider], "messages": ASK["messages"]}
            ),
        )
        with_fault(emulator, status, caller.batch)
        with_fault(emulator, status, lambda: caller("GET", f"/v1/messages/batches/{batch_id}/results"))
        with_fault(emulator, status, lambda: caller("GET", "/v1/models"))
    running = caller.batch().json()["id"]
    with_fault(emulator, 500, lambda: caller("POST", f"/v1/messages/batches/{running}/cancel"))
    with_fault(emulator, 404, lambda: caller("GET", f"/v1/messages/batches/{running}"))

    # The upstream loses the objects: its own "not found" names them.
    delete_upstream_results(provider, url, upstream_id(database, "batches", batch_id))
    caller("GET", f"/v1/messages/batches/{batch_id}/results")
    delete_upstream_file(provider, url, upstream_id(database, "files", file_id))
    caller("GET", f"/v1/files/{file_id}/content")
    caller.message(messages=[{"role": "user", "content": [document, {"type": "text", "text": "Summarise it."}]}])
    caller("DELETE", f"/v1/files/{file_id}")
    another = caller.upload().json()["id"]
    with_fault(emulator, 500, lambda: caller("DELETE", f"/v1/files/{another}"))


@pytest.fixture(scope="module")
def seen(gateway: tuple[str, Path], upstreams: dict[str, str]) -> Seen:
    base, database = gateway
    seen = Seen()
    for provider in ("anthropic", "openai", "gemini"):
        sweep(Caller(base, provider, seen), EmulatorHandle(upstreams[provider]), upstreams[provider], database)
    bedrock = Caller(base, "bedrock", seen)
    emulator = EmulatorHandle(upstreams["bedrock"])
    for status in FAULTS:
        with_fault(emulator, status, bedrock.message)
        with_fault(emulator, status, lambda: bedrock.message(stream=True))
    return seen


def _gateway_text(response: httpx.Response) -> str:
    """What the gateway wrote: an answer's body without the model's own words (a model may quote its prompt,
    attachments included: that is the caller's content, not an ID the gateway handed out), every error."""
    if response.status_code >= 400:
        return response.text
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        return "\n".join(line for line in response.text.split("\n\n") if line.startswith("event: error"))
    if not response.headers.get("content-type", "").startswith("application/json"):
        return ""  # a download: the caller's own bytes
    body = response.json()
    if isinstance(body, dict) and body.get("type") == "message":
        body = {key: value for key, value in body.items() if key != "content"}
    return json.dumps(body)


def _leaks(response: httpx.Response, known: set[str]) -> list[str]:
    text = "\n".join(
        [
            response.reason_phrase,
            *(f"{name}: {value}" for name, value in response.headers.items()),
            _gateway_text(response),
        ]
    )
    found = [name for name in known if name in text]
    return found + [match for shape in UPSTREAM_ID_SHAPES for match in shape.findall(text)]


@pytest.mark.parametrize("provider", ["anthropic", "openai", "gemini", "bedrock"])
def test_no_upstream_id_in_any_answer(seen: Seen, gateway: tuple[str, Path], provider: str) -> None:
    known = stored_upstream_ids(gateway[1])
    assert len(known) >= 6  # files and batches of three providers were recorded
    answers = [response for name, response in seen.answers if name == provider]
    errors = seen.errors(provider)
    assert len(errors) >= (10 if provider == "bedrock" else 40), [r.text for r in errors]
    for response in answers:
        assert _leaks(response, known) == [], f"{response.request.method} {response.request.url}: {response.text}"
    for response in errors:
        body = response.json()
        assert body["type"] == "error" and body["error"]["message"] and body["request_id"], response.text


def test_the_anthropic_download_refusal_names_the_gateways_file(seen: Seen) -> None:
    refusal = next(
        response
        for name, response in seen.answers
        if name == "anthropic" and response.url.path.endswith("/content") and response.status_code == 400
    )
    file_id = refusal.url.path.split("/")[-2]
    message = refusal.json()["error"]["message"]
    assert "downloadable" in message and (file_id in message or "file_" not in message), message


def test_bedrock_refuses_files_calls_in_file_words_and_batch_calls_in_batch_words(gateway: tuple[str, Path]) -> None:
    seen = Seen()
    bedrock = Caller(gateway[0], "bedrock", seen)
    files_calls = [
        bedrock.upload(),
        bedrock("GET", "/v1/files"),
        bedrock("GET", "/v1/files/file_AAAAAAAAAAAAAAAAAAAAAAAA"),
        bedrock("GET", "/v1/files/file_AAAAAAAAAAAAAAAAAAAAAAAA/content"),
        bedrock("DELETE", "/v1/files/file_AAAAAAAAAAAAAAAAAAAAAAAA"),
    ]
    for response in files_calls:
        assert response.status_code == 400, response.text
        message = response.json()["error"]["message"]
        assert "Bedrock" in message and "file" in message.lower() and "batch" not in message.lower(), message
    batch_calls = [bedrock.batch(), bedrock("GET", "/v1/messages/batches")]
    for response in batch_calls:
        assert response.status_code == 400, response.text
        message = response.json()["error"]["message"]
        assert "Bedrock" in message and "batch" in message.lower(), message
