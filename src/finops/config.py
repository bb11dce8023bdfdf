"""Typed settings read once from YAML.

A value written ``env.NAME`` is read from the environment variable ``NAME`` (so secrets never sit in the file).
Anything wrong stops start-up with ``ConfigError``: one line naming the key and the problem.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from finops.core.providers import ProviderName

# ``finops serve --demo`` keeps its ledger here unless the config names a database; ``finops usage|keys --demo``
# read it from the same place.
DEMO_DATABASE_URL = "sqlite+aiosqlite:///finops-demo.db"


class ConfigError(Exception):
    """A bad config; ``str()`` is one line naming the key and the problem."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = None
    """Base URL clients reach the gateway at (used for ``results_url``); without it, the request's own base, and
    only when its Host is one of ``allowed_hosts``."""
    allowed_hosts: list[str] | None = None
    """Host names (``name`` or ``name:port``) a request's Host may carry when the gateway has to build an absolute
    URL from it (``results_url``) and ``public_url`` is not set; default: ``host``, ``localhost``, ``127.0.0.1``,
    ``[::1]``. Any other Host gets a 400, never a URL pointing where the operator did not say."""
    trusted_proxies: list[str] = Field(default_factory=list)
    """Peer addresses (IPs or CIDR ranges) whose ``X-Forwarded-For``/``X-Forwarded-Proto`` are believed; from
    anyone else those headers are ignored. Empty: ignored from everyone."""
    max_header_bytes: int = Field(default=64 * 1024, ge=1024)
    """A request line plus headers longer than this is refused with 431 before it is buffered any further."""
    max_message_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    max_batch_bytes: int = Field(default=256 * 1024 * 1024, gt=0)
    max_file_bytes: int = Field(default=500 * 1024 * 1024, gt=0)
    workers: int | Literal["auto"] = 1
    """Serving processes sharing the port (``auto``: one per CPU); ``finops serve --workers`` overrides it."""
    backlog: int = Field(default=4096, ge=1)
    """Connections the kernel queues for the gateway to accept (capped by ``net.core.somaxconn``). uvicorn's 2,048
    overflowed when a thousand streams a second opened: the kernel then drops the handshakes, and clients retry
    after 1, 3, 7... seconds."""
    drain_seconds: float = Field(default=30.0, ge=0)
    """On SIGTERM, how long open requests (streams) may run on while new ones are refused with 503."""

    @field_validator("workers")
    @classmethod
    def _positive_workers(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError("must be at least 1 (or auto)")
        return value

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///finops.db"
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    """PostgreSQL: how long opening a connection may take."""
    statement_timeout_seconds: float = Field(default=15.0, gt=0)
    """PostgreSQL: how long one statement may wait for its answer; SQLite: how long a write waits for the lock."""
    pool_timeout_seconds: float = Field(default=10.0, gt=0)
    """How long a request waits for a free pooled connection."""


class RedisSettings(_Section):
    url: str | None = None
    connect_timeout_seconds: float = Field(default=1.0, gt=0)
    timeout_seconds: float = Field(default=1.0, gt=0)
    """How long one Redis command may wait for its answer (Redis answers in well under a millisecond)."""


class TimeoutSettings(_Section):
    connect: float = Field(default=10.0, gt=0)
    read: float = Field(default=600.0, gt=0)
    write: float = Field(default=600.0, gt=0)
    pool: float = Field(default=30.0, gt=0)


class BedrockBatchSettings(_Section):
    """``providers.bedrock.batch``: where Bedrock files and batch jobs live (issue 16). Without it, files and
    batches on Bedrock are refused with a 400 saying why."""

    s3_bucket: str = Field(min_length=3, max_length=63, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    s3_prefix: str = "finops"
    """Every object the gateway writes goes under ``<s3_prefix>/files/`` or ``<s3_prefix>/batches/``."""
    role_arn: str = Field(pattern=r"^arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+$")
    """The IAM role Bedrock assumes to read the job input and write its output (``CreateModelInvocationJob``)."""
    s3_region: str | None = None
    """The bucket's region (default: the provider's ``region``)."""
    min_records_policy: Literal["run_on_demand", "refuse"] = "run_on_demand"
    """A per-model part below Bedrock's minimum records per job: run by the gateway on on-demand InvokeModel at the
    on-demand price, or refused with a 400."""
    min_records: int = Field(default=100, ge=1)
    """Bedrock's minimum records per batch job (100 for most models)."""
    on_demand_concurrency: int = Field(default=4, ge=1, le=64)
    """Requests of an on-demand part in flight at once (it shares the account's on-demand quota)."""
    s3_url: str | None = None
    """S3 endpoint (path-style addressing), e.g. an emulator or a VPC endpoint; default: AWS, virtual-hosted."""
    control_url: str | None = None
    """Bedrock control-plane endpoint (model-invocation jobs); default ``https://bedrock.<region>.amazonaws.com``."""

    @field_validator("s3_prefix")
    @classmethod
    def _clean_prefix(cls, value: str) -> str:
        value = value.strip("/")
        if not value or not all(part and part not in (".", "..") for part in value.split("/")):
            raise ValueError("must be a non-empty S3 key prefix such as finops or team/finops")
        return value

    @field_validator("s3_url", "control_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value


class ProviderSettings(_Section):
    api_key: SecretStr | None = None
    base_url: str | None = None
    timeouts: TimeoutSettings = TimeoutSettings()
    # Per provider: each open stream holds one upstream connection, and a gateway holds thousands of streams.
    max_connections: int = Field(default=10_000, gt=0)
    # Bedrock
    region: str | None = None
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    bearer_token: SecretStr | None = None
    models: list[str] | None = None
    batch: BedrockBatchSettings | None = None
    """Bedrock only: S3 files and batch jobs."""


class GovernanceSettings(_Section):
    require_virtual_key: bool = False
    admin_key: SecretStr | None = None
    key_cache_seconds: float = Field(default=5.0, ge=0)
    """How long a key lookup is trusted in-process (other processes' key changes show up within this time)."""
    spend_cache_seconds: float = Field(default=2.0, ge=0)
    """How long a key's spend-so-far from the database is trusted for display (console, admin). Budget checks do
    not use it: they read the database every time (issue 13), so budgets hold across processes."""
    reconcile_interval_seconds: float = Field(default=10.0, gt=0)
    metrics_token: SecretStr | None = None
    """``/metrics`` answers only ``Authorization: Bearer <token>`` and shows per-key series; without it,
    ``/metrics`` is open and every series is summed over the key (no key name is shown)."""
    """How often unfinished batches are checked so their cost can be recorded once they end."""
    ledger_journal: bool = True
    """Append every usage row to a local journal before its answer ends (``finops.governance.journal``): a kill -9
    loses no answered request's row, and answers do not wait for the database. Off: every answer waits for its
    row's commit (``ledger_wait_seconds``)."""
    ledger_journal_dir: str | None = None
    """Where the journal lives: local disk that survives a restart of the gateway (a container's volume). Default:
    beside a SQLite database file (``<file>.ledger-journal``), else ``$XDG_STATE_HOME/finops/ledger-<hash of the
    database URL>`` (``~/.local/state`` without ``XDG_STATE_HOME``)."""
    ledger_journal_fsync_seconds: float = Field(default=1.0, gt=0)
    """How often the journal is flushed to disk: what a crash of the whole machine (not of the process) can lose."""
    ledger_wait_seconds: float = Field(default=5.0, ge=0)
    """How long an answer waits for its usage row to be committed before its last byte leaves, when it waits: rows
    of keys with a budget (so every process sees the spend before the next request), and every row without the
    journal (group commit: one write for all requests in flight). 0 turns the wait off (write-behind: a kill -9
    can then lose up to ~100 ms of rows that were not journaled). Past the wait the answer goes anyway and the row
    keeps being retried: a slow database delays answers by at most this much, it never fails them."""
    recovery_interval_seconds: float = Field(default=60.0, gt=0)
    """How often the intent log's recovery pass (``finops.core.recovery``) looks for creates a dead process left;
    it also runs as soon as a process takes the background lease (at start-up)."""


class CacheEmbeddingSettings(_Section):
    provider: Literal["openai", "gemini", "bedrock"]
    """A provider with an embedding API (configured under ``providers``); Anthropic has none."""
    model: str = Field(min_length=1)
    dimensions: int | None = Field(default=None, gt=0)
    """Shorter vectors where the model allows it (OpenAI text-embedding-3, Gemini, Titan v2): less memory."""
    max_chars: int = Field(default=8000, gt=0)
    """A last user turn longer than this is looked up by the exact layer only (never cut: a cut question could
    match another one that differs only past the cut)."""


class CacheSettings(_Section):
    """The response cache (``finops.cache``); off unless enabled here, on a virtual key or by a request header."""

    enabled: bool = False
    mode: Literal["exact", "semantic"] = "exact"
    ttl_seconds: int = Field(default=3600, ge=1, le=365 * 24 * 3600)
    max_entries: int = Field(default=100_000, gt=0)
    """Entries kept in the store (least recently used go first) and mirrored in each process's memory."""
    threshold: float = Field(default=0.95, ge=0, le=1)
    store_truncated: bool = False
    """Store answers that ``max_tokens`` cut (``stop_reason: max_tokens``); a request can ask for it too."""
    embedding: CacheEmbeddingSettings | None = None
    shared_namespace: list[str] = Field(default_factory=list)
    """Virtual key IDs or names whose entries share one namespace (a hit for one is a hit for all)."""
    sync_seconds: float = Field(default=1.0, gt=0)
    """How often a process catches up with entries other processes stored (also done on every semantic miss)."""


class ConsoleSettings(_Section):
    """The web console under ``/ui`` (sign-in with ``governance.admin_key`` or a virtual key)."""

    enabled: bool = False
    session_hours: float = Field(default=12.0, gt=0)
    """A console session ends this long after sign-in (or at sign-out, or when its key is revoked)."""
    login_attempts_per_minute: int = Field(default=10, gt=0)
    """Failed sign-ins allowed per client address and minute before the form answers 429."""


class Settings(_Section):
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    providers: dict[ProviderName, ProviderSettings] = Field(default_factory=dict)
    governance: GovernanceSettings = GovernanceSettings()
    console: ConsoleSettings = ConsoleSettings()
    cache: CacheSettings = CacheSettings()

    @model_validator(mode="after")
    def _embedding_provider_configured(self) -> Settings:
        if self.cache.enabled and self.cache.mode == "semantic" and self.cache.embedding is None:
            raise ValueError("cache.mode: semantic needs cache.embedding {provider, model}")
        embedding = self.cache.embedding
        if embedding is not None and embedding.provider not in self.providers:
            raise ValueError(f"cache.embedding.provider: {embedding.provider} is not configured under providers")
        for name, provider in self.providers.items():
            if provider.batch is not None and name != "bedrock":
                raise ValueError(f"providers.{name}.batch: only the bedrock provider takes a batch section")
        return self


def _resolve_env(value: Any, path: str, environ: dict[str, str]) -> Any:
    """Replace every ``env.NAME`` string with the environment's value; a missing variable is an error."""
    if isinstance(value, dict):
        return {key: _resolve_env(item, f"{path}.{key}" if path else str(key), environ) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve_env(item, f"{path}[{index}]", environ) for index, item in enumerate(value)]
    if isinstance(value, str) and value.startswith("env."):
        name = value[4:]
        if name not in environ:
            raise ConfigError(f"{path}: environment variable {name} is not set")
        return environ[name]
    return value


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    location = ".".join(str(part) for part in error["loc"]) or "(root)"
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    if error["type"] == "value_error" and not error["loc"]:  # a check across sections names its own key
        return message.removeprefix("Value error, ")
    return f"{location}: {message}"


def parse_settings(raw: Any, environ: dict[str, str] | None = None) -> Settings:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("(root): the config must be a mapping of sections")
    resolved = _resolve_env(raw, "", dict(os.environ) if environ is None else environ)
    try:
        return Settings.model_validate(resolved)
    except ValidationError as exc:
        raise ConfigError(_first_error(exc)) from None


def load_settings(path: str | Path | None, environ: dict[str, str] | None = None) -> Settings:
    if path is None:
        return parse_settings({}, environ)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
    return parse_settings(raw, environ)
