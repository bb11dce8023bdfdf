"""Driving the console over plain HTTP as a browser would: a cookie jar, the sign-in form and its CSRF token, and
a reader for what a page's HTML contains (forms' tokens, scripts, inline styles and event handlers)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import httpx

from tests.conftest import UPSTREAM_KEY
from tests.support.emulator import EmulatorHandle
from tests.support.gateway import running_gateway
from tests.support.governance import ADMIN_KEY, MODEL, create_key, governance_section, params, report, wait_for


class PageParts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.csrf_tokens: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.inline_styles: list[str] = []
        self.event_handlers: list[str] = []
        self.inline_script_bodies: list[str] = []
        self.style_elements = 0
        self.links: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("name") == "csrf" and values.get("value"):
            self.csrf_tokens.append(str(values["value"]))
        if tag == "script":
            self.scripts.append(values)
            self._in_script = True
        if tag == "style":
            self.style_elements += 1
        if tag in ("a", "link", "script") and (values.get("href") or values.get("src")):
            self.links.append(str(values.get("href") or values.get("src")))
        for name, value in attrs:
            if name == "style":
                self.inline_styles.append(f"<{tag} style={value!r}>")
            if name.startswith("on") or name.startswith("hx-on"):
                self.event_handlers.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_script_bodies.append(data.strip())


def parts_of(html: str) -> PageParts:
    parts = PageParts()
    parts.feed(html)
    return parts


class ConsoleClient:
    """One browser-like session against ``{base}/ui``."""

    def __init__(self, base: str, **options: object) -> None:
        self.base = base
        self.http = httpx.Client(base_url=f"{base}/ui", timeout=30, follow_redirects=False, **options)  # type: ignore[arg-type]

    def close(self) -> None:
        self.http.close()

    def sign_in(self, key: str) -> httpx.Response:
        form = self.http.get("/login")
        assert form.status_code == 200, form.text
        (token,) = parts_of(form.text).csrf_tokens
        return self.http.post("/login", data={"csrf": token, "key": key}, headers={"origin": self.base})

    def signed_in(self, key: str) -> ConsoleClient:
        answer = self.sign_in(key)
        assert answer.status_code == 303 and answer.headers["location"].endswith("/ui/overview"), answer.text
        return self

    def get(self, path: str, **options: object) -> httpx.Response:
        return self.http.get(path, **options)  # type: ignore[arg-type]

    def csrf(self, path: str = "/overview") -> str:
        tokens = parts_of(self.get(path).text).csrf_tokens
        assert tokens, f"no form on {path}"
        return tokens[0]

    def post(self, path: str, data: dict[str, str], *, origin: str | None = "same") -> httpx.Response:
        headers = {"origin": self.base} if origin == "same" else ({"origin": origin} if origin else {})
        return self.http.post(path, data=data, headers=headers)


@contextmanager
def console_gateway(
    emulator: EmulatorHandle, database_url: str, *, server: dict[str, Any] | None = None, **console: Any
) -> Iterator[str]:
    """A governed gateway in front of the Anthropic emulator with the console on; yields its base URL."""
    providers = {"anthropic": {"api_key": UPSTREAM_KEY, "base_url": emulator.base_url}}
    sections: dict[str, Any] = {"governance": governance_section(), "console": {"enabled": True, **console}}
    if server:
        sections["server"] = server
    with running_gateway(providers, database_url, **sections) as base:
        yield base


def admin_console(base: str) -> ConsoleClient:
    return ConsoleClient(base).signed_in(ADMIN_KEY)


def text_of(html: str) -> str:
    """The page's visible text, roughly (tags dropped), for messages in assertions."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@dataclass
class Tenant:
    """A virtual key with traffic of its own: what must show on its pages and never on another key's."""

    key_id: str
    name: str
    secret: str
    request_ids: list[str]
    file_id: str
    filename: str
    batch_id: str

    @property
    def identifiers(self) -> list[str]:
        return [self.key_id, self.name, self.file_id, self.filename, self.batch_id, *self.request_ids]


def make_tenant(base: str, name: str, *, model: str = MODEL) -> Tenant:
    """Create a key and use it: two messages, one file, one batch (waited until ended and billed)."""
    key = create_key(base, name)
    headers = {"x-api-key": key["key"]}
    client = httpx.Client(base_url=f"{base}/anthropic", timeout=30, headers=headers)
    request_ids = []
    for text in ("What is 2+2?", f"Say hello to {name}"):
        answer = client.post("/v1/messages", json=params(text, model=model))
        assert answer.status_code == 200, answer.text
        request_ids.append(answer.headers["request-id"])
    filename = f"{name}-notes.txt"
    uploaded = client.post("/v1/files", files={"file": (filename, f"notes of {name}".encode(), "text/plain")})
    assert uploaded.status_code == 200, uploaded.text
    batch = client.post("/v1/messages/batches", json={"requests": [{"custom_id": "q1", "params": params(model=model)}]})
    assert batch.status_code == 200, batch.text
    batch_id = batch.json()["id"]
    wait_for(lambda: client.get(f"/v1/messages/batches/{batch_id}").json()["processing_status"] == "ended")
    wait_for(lambda: any(row["key_id"] == key["id"] and row["requests"] >= 3 for row in report(base)["data"]))
    client.close()
    return Tenant(key["id"], name, key["key"], request_ids, uploaded.json()["id"], filename, batch_id)
