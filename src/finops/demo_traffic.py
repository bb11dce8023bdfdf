"""``finops demo traffic``: a few minutes' worth of mixed traffic through a gateway, so the console has something
to show at once.

It signs in to the admin API, makes (or reuses) a handful of virtual keys with budgets and limits, then sends
Messages calls (some streamed, some with a cached system prompt) to all four providers, uploads a file, and runs a
batch on each provider that has batches, waiting until they end. Everything goes over plain HTTP to the gateway,
exactly as a client would, so every row in the ledger is a real one. The keys' secrets are kept in a small JSON
file beside the demo database, so a second run adds to the same keys.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

DEMO_KEYS: tuple[dict[str, Any], ...] = (
    {"name": "search-team", "budget_usd": 5, "budget_period": "monthly"},
    {"name": "support-bot", "budget_usd": 2, "budget_period": "daily", "rpm": 600},
    {"name": "analytics", "providers": ["openai", "gemini"]},
    {"name": "batch-jobs"},
)
MODELS = {
    "anthropic": ("claude-sonnet-4-5-20250929", "claude-3-haiku-20240307"),
    "openai": ("gpt-4o-mini", "gpt-4.1"),
    "gemini": ("gemini-2.5-flash", "gemini-2.0-flash"),
    "bedrock": ("amazon.nova-lite-v1:0", "us.anthropic.claude-sonnet-4-20250514-v1:0"),
}
BATCH_PROVIDERS = ("anthropic", "openai", "gemini")
BATCH_SIZES = (8, 12, 16)
QUESTIONS = (
    "What is 2+2?",
    "Name three prime numbers.",
    "Summarise the plot of Hamlet in one sentence.",
    "Write a haiku about invoices.",
    "What does FinOps mean?",
    "Translate 'good morning' into French.",
    "List two uses of a hash map.",
    "Explain prompt caching briefly.",
)
# Long enough to be cached (providers cache prompts past ~1,024 tokens).
SYSTEM_PROMPT = "You are the support assistant of an AI gateway. " + " ".join(
    f"Policy {n}: answer briefly, cite the relevant budget rule, and never reveal keys." for n in range(1, 120)
)
KEYS_FILE = "finops-demo-keys.json"


@dataclass
class Report:
    answered: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    batches: list[str] = field(default_factory=list)

    def summary(self) -> str:
        answered = ", ".join(f"{name} {count}" for name, count in sorted(self.answered.items()))
        refused = sum(self.refused.values())
        refusals = f"; {refused} refused ({', '.join(sorted(self.refused))})" if refused else ""
        return f"answered: {answered}{refusals}; batches: {len(self.batches)}"


async def _keys(client: httpx.AsyncClient, admin_key: str, keys_file: Path) -> dict[str, str]:
    """name -> secret for every demo key, reusing the secrets saved by an earlier run while their keys live."""
    admin = {"authorization": f"Bearer {admin_key}"}
    saved: dict[str, dict[str, str]] = orjson.loads(keys_file.read_bytes()) if keys_file.exists() else {}
    secrets: dict[str, str] = {}
    for fields in DEMO_KEYS:
        name = fields["name"]
        known = saved.get(name)
        if known:
            found = await client.get(f"/admin/keys/{known['id']}", headers=admin)
            if found.status_code == 200 and not found.json().get("revoked_at"):
                secrets[name] = known["key"]
                continue
        created = await client.post("/admin/keys", headers=admin, json=fields)
        created.raise_for_status()
        body = created.json()
        saved[name] = {"id": body["id"], "key": body["key"]}
        secrets[name] = body["key"]
    keys_file.write_bytes(orjson.dumps(saved, option=orjson.OPT_INDENT_2))
    keys_file.chmod(0o600)
    return secrets


def _headers(secret: str, provider: str) -> dict[str, str]:
    return {"x-api-key": secret, "anthropic-version": "2023-06-01", "x-model-provider": provider}


def _plan(count: int, seed: int) -> list[tuple[str, str, str, bool, bool]]:
    """(key, provider, model, stream, cached system prompt) for each message, the same for the same seed."""
    chooser = random.Random(seed)
    plan = []
    for _ in range(count):
        key = chooser.choice(("search-team", "search-team", "support-bot", "analytics"))
        providers = ("openai", "gemini") if key == "analytics" else tuple(MODELS)
        provider = chooser.choice(providers)
        model = chooser.choice(MODELS[provider])
        cached = key == "support-bot" and provider in ("anthropic", "bedrock")
        plan.append((key, provider, model, chooser.random() < 0.3, cached))
    return plan


async def _message(
    client: httpx.AsyncClient, secret: str, provider: str, model: str, *, stream: bool, cached: bool, question: str
) -> int:
    body: dict[str, Any] = {"model": model, "max_tokens": 200, "messages": [{"role": "user", "content": question}]}
    if cached:
        body["system"] = [{"type": "text", "text": SYSTEM_PROMPT, "cache_control": {"type": "ephemeral"}}]
    if not stream:
        response = await client.post("/anthropic/v1/messages", headers=_headers(secret, provider), json=body)
        return response.status_code
    async with client.stream(
        "POST", "/anthropic/v1/messages", headers=_headers(secret, provider), json={**body, "stream": True}
    ) as response:
        async for _ in response.aiter_bytes():
            pass
        return response.status_code


async def _messages(client: httpx.AsyncClient, secrets: dict[str, str], count: int, report: Report) -> None:
    semaphore = asyncio.Semaphore(8)

    async def one(index: int, key: str, provider: str, model: str, stream: bool, cached: bool) -> None:
        async with semaphore:
            question = QUESTIONS[index % len(QUESTIONS)]
            status = await _message(
                client, secrets[key], provider, model, stream=stream, cached=cached, question=question
            )
        if status == 200:
            report.answered[provider] += 1
        else:
            report.refused[f"{key} {status}"] += 1

    await asyncio.gather(*(one(index, *item) for index, item in enumerate(_plan(count, seed=len(secrets)))))


async def _batches(client: httpx.AsyncClient, secret: str, report: Report, timeout: float) -> None:
    for number, provider in enumerate(BATCH_PROVIDERS):
        model = MODELS[provider][0]
        requests = [
            {
                "custom_id": f"demo-{number}-{index}",
                "params": {
                    "model": model,
                    "max_tokens": 150,
                    "messages": [{"role": "user", "content": QUESTIONS[(index + number) % len(QUESTIONS)]}],
                },
            }
            for index in range(BATCH_SIZES[number])
        ]
        created = await client.post(
            "/anthropic/v1/messages/batches", headers=_headers(secret, provider), json={"requests": requests}
        )
        created.raise_for_status()
        report.batches.append(created.json()["id"])
    deadline = time.monotonic() + timeout
    pending = set(report.batches)
    while pending and time.monotonic() < deadline:
        for batch_id in list(pending):
            url = f"/anthropic/v1/messages/batches/{batch_id}"
            status = await client.get(url, headers=_headers(secret, "anthropic"))
            if status.status_code == 200 and status.json()["processing_status"] == "ended":
                pending.discard(batch_id)
        await asyncio.sleep(1.0)


async def _batch_requests_billed(client: httpx.AsyncClient, admin_key: str) -> int:
    usage = await client.get("/admin/usage", headers={"authorization": f"Bearer {admin_key}"})
    usage.raise_for_status()
    return sum(row["requests"] for row in usage.json()["data"] if row["key_name"] == "batch-jobs")


async def _billed(client: httpx.AsyncClient, admin_key: str, requests: int, timeout: float) -> None:
    """Wait until the gateway has recorded ``requests`` batch requests (its reconciler bills a batch once it has
    ended), so the console shows the batch discount as soon as the traffic is done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and await _batch_requests_billed(client, admin_key) < requests:
        await asyncio.sleep(0.5)


async def _file(client: httpx.AsyncClient, secret: str) -> None:
    content = b"".join(f"line {n}: demo usage notes\n".encode() for n in range(200))
    response = await client.post(
        "/anthropic/v1/files",
        headers={**_headers(secret, "anthropic"), "anthropic-beta": "files-api-2025-04-14"},
        files={"file": ("demo-notes.txt", content, "text/plain")},
    )
    response.raise_for_status()


async def run_traffic(
    url: str, admin_key: str, *, messages: int = 240, keys_file: Path | None = None, batch_timeout: float = 120.0
) -> Report:
    report = Report()
    async with httpx.AsyncClient(base_url=url.rstrip("/"), timeout=60.0) as client:
        secrets = await _keys(client, admin_key, keys_file or Path(KEYS_FILE))
        billed_before = await _batch_requests_billed(client, admin_key)
        await _file(client, secrets["batch-jobs"])
        batches = asyncio.create_task(_batches(client, secrets["batch-jobs"], report, batch_timeout))
        await _messages(client, secrets, messages, report)
        await batches
        await _billed(client, admin_key, billed_before + sum(BATCH_SIZES), batch_timeout)
    return report


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url.rstrip('/')}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the gateway at {url} did not answer /health")
