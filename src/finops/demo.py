"""``finops serve --demo``: every provider on an in-process emulator, an SQLite file, no keys.

Emulators run as real HTTP servers on loopback ports (each in its own thread and event loop) rather than
through an in-memory transport, so streaming, large uploads and absolute URLs behave exactly as in production.
"""

from __future__ import annotations

import importlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from finops.config import DEMO_DATABASE_URL, ConfigError, Settings, parse_settings
from finops.core.providers import PROVIDER_NAMES, ProviderName

DEMO_BATCH_SECONDS = 3.0
# The console's sign-in for the demo (printed at start). A demo gateway listens on loopback and holds no real
# provider key; a config file given with --demo may set its own governance.admin_key.
DEMO_ADMIN_KEY = "finops-demo-admin-key"
DEMO_API_KEY = "finops-demo-upstream-key"
BEDROCK_DEMO_CREDENTIALS = {
    "access_key_id": "AKIAFINOPSEMULATOR",
    "secret_access_key": "finops-emulator-secret",
}
# The emulated bucket Bedrock files and batch jobs use (the emulator serves S3 and the job API on its port).
BEDROCK_DEMO_BUCKET = "finops-demo"
BEDROCK_DEMO_ROLE = "arn:aws:iam::123456789012:role/finops-demo-batch"

# Provider -> the emulator factory (see each emulator package for its options).
EMULATORS: dict[ProviderName, str] = {
    "anthropic": "finops.emulators.anthropic.app:create_app",
    "openai": "finops.emulators.openai.app:create_app",
    "gemini": "finops.emulators.gemini.app:create_app",
    "bedrock": "finops.emulators.bedrock.app:create_app",
}


def emulator_app(provider: ProviderName, **options: Any) -> ASGIApp:
    module_name, _, attribute = EMULATORS[provider].partition(":")
    create_app: Callable[..., ASGIApp] = getattr(importlib.import_module(module_name), attribute)
    return create_app(**options)


def _emulator_options(provider: ProviderName, batch_seconds: float) -> dict[str, Any]:
    if provider == "bedrock":
        return {**BEDROCK_DEMO_CREDENTIALS, "batch_seconds": batch_seconds, "buckets": [BEDROCK_DEMO_BUCKET]}
    return {"batch_seconds": batch_seconds}


def _provider_section(provider: ProviderName, base_url: str) -> dict[str, Any]:
    if provider == "anthropic":
        return {"api_key": DEMO_API_KEY, "base_url": base_url}
    if provider == "openai":
        return {"api_key": DEMO_API_KEY, "base_url": f"{base_url}/v1"}
    if provider == "gemini":
        return {"api_key": DEMO_API_KEY, "base_url": base_url}
    batch = {
        "s3_bucket": BEDROCK_DEMO_BUCKET,
        "s3_prefix": "finops",
        "role_arn": BEDROCK_DEMO_ROLE,
        "s3_url": base_url,
        "control_url": base_url,
    }
    return {"region": "us-east-1", "base_url": base_url, **BEDROCK_DEMO_CREDENTIALS, "batch": batch}


@dataclass
class EmulatorThread:
    provider: ProviderName
    server: uvicorn.Server
    thread: threading.Thread
    base_url: str

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class DemoEmulators:
    running: list[EmulatorThread] = field(default_factory=list)

    def start(self, provider: ProviderName, batch_seconds: float) -> str:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        app = emulator_app(provider, **_emulator_options(provider, batch_seconds))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"emulator-{provider}", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError(f"the {provider} emulator did not start")
            time.sleep(0.01)
        base_url = f"http://127.0.0.1:{port}"
        self.running.append(EmulatorThread(provider, server, thread, base_url))
        return base_url

    def stop(self) -> None:
        for emulator in self.running:
            emulator.stop()


def available_emulators() -> list[ProviderName]:
    """Providers whose emulator and adapter both ship in this build."""
    names = []
    for provider in PROVIDER_NAMES:
        try:
            importlib.import_module(EMULATORS[provider].partition(":")[0])
            importlib.import_module(f"finops.providers.{provider}.adapter")
        except ModuleNotFoundError:
            continue
        names.append(provider)
    return names


def demo_settings(raw: dict[str, Any] | None, emulators: DemoEmulators, batch_seconds: float) -> Settings:
    """The file's settings, with emulated providers and a demo database wherever the file names none."""
    raw = dict(raw or {})
    if not isinstance(raw.get("providers", {}), dict):
        raise ConfigError("providers: must be a mapping of provider name to settings")
    providers = dict(raw.get("providers") or {})
    for provider in available_emulators():
        if provider not in providers:
            providers[provider] = _provider_section(provider, emulators.start(provider, batch_seconds))
    raw["providers"] = providers
    raw.setdefault("database", {"url": DEMO_DATABASE_URL})
    governance = dict(raw.get("governance") or {})
    governance.setdefault("admin_key", DEMO_ADMIN_KEY)
    governance.setdefault("reconcile_interval_seconds", 1.0)  # demo batches end in seconds: bill them as quickly
    raw["governance"] = governance
    raw["console"] = {"enabled": True, **(raw.get("console") or {})}
    return parse_settings(raw)
