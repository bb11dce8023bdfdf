"""Virtual keys: minting secrets, validating admin input, and applying changes to the store.

The secret (``sk-fo-`` + 43 URL-safe chars = 256 random bits) is shown once at creation; only its sha256 is
stored. Both the admin API and the CLI go through ``KeyAdmin`` so they validate the same way.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from finops.core.errors import InvalidRequestError, NotFoundError
from finops.core.providers import PROVIDER_NAMES
from finops.store.keys import KeyRepository, VirtualKeyRecord

KEY_PREFIX = "sk-fo-"
BudgetPeriod = Literal["daily", "weekly", "monthly", "total"]


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def new_key_id() -> str:
    return "vk_" + secrets.token_hex(12)


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def owner_of(key_id: str) -> str:
    return f"key:{key_id}"


class KeyCacheSettings(BaseModel):
    """A key's response-cache settings; each one left out follows the gateway's ``cache`` config."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["off", "exact", "semantic"] | None = None
    ttl_seconds: int | None = Field(default=None, ge=1, le=365 * 24 * 3600)
    threshold: float | None = Field(default=None, ge=0, le=1)
    store_truncated: bool | None = None


def _cache_field(settings: KeyCacheSettings | None, current: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The stored form: the fields given (merged over ``current``; a null removes one), or ``None`` for none."""
    if settings is None:
        return None
    merged = {**(current or {}), **{name: getattr(settings, name) for name in settings.model_fields_set}}
    kept = {name: value for name, value in merged.items() if value is not None}
    return kept or None


class _KeyFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    budget_usd: Decimal | None = Field(default=None, ge=0)
    budget_period: BudgetPeriod | None = None
    rpm: int | None = Field(default=None, gt=0)
    tpm: int | None = Field(default=None, gt=0)
    providers: list[str] | None = None
    models: list[str] | None = None
    expires_at: datetime | None = None
    cache: KeyCacheSettings | None = None

    @field_validator("providers")
    @classmethod
    def _known_providers(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            unknown = sorted(set(value) - set(PROVIDER_NAMES))
            if unknown:
                raise ValueError(f"unknown provider(s) {', '.join(unknown)}; allowed: {', '.join(PROVIDER_NAMES)}")
        return value

    @field_validator("expires_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class KeyCreate(_KeyFields):
    name: str = Field(min_length=1, max_length=255)


class KeyUpdate(_KeyFields):
    name: str | None = Field(default=None, min_length=1, max_length=255)


def _parse(model: type[BaseModel], payload: Any) -> Any:
    if not isinstance(payload, dict):
        raise InvalidRequestError("the body must be a JSON object")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
        raise InvalidRequestError(f"{where}: {message}") from None


class KeyAdmin:
    """Create, change and revoke keys; ``on_change(key_id)`` lets the in-process key cache forget at once."""

    def __init__(self, repository: KeyRepository, on_change: Callable[[str], None] | None = None) -> None:
        self._repository = repository
        self._on_change = on_change or (lambda key_id: None)

    async def create(self, payload: Any) -> tuple[VirtualKeyRecord, str]:
        fields: KeyCreate = _parse(KeyCreate, payload)
        period = fields.budget_period
        if fields.budget_usd is not None and period is None:
            period = "monthly"
        now = datetime.now(UTC)
        secret = new_secret()
        record = VirtualKeyRecord(
            id=new_key_id(),
            name=fields.name,
            key_hash=hash_key(secret),
            key_prefix=secret[: len(KEY_PREFIX) + 4],
            budget_usd=fields.budget_usd,
            budget_period=period,
            rpm=fields.rpm,
            tpm=fields.tpm,
            providers=fields.providers,
            models=fields.models,
            expires_at=fields.expires_at,
            created_at=now,
            updated_at=now,
            revoked_at=None,
            cache=_cache_field(fields.cache),
        )
        await self._repository.add(record)
        return record, secret

    async def get(self, key_id: str) -> VirtualKeyRecord:
        record = await self._repository.get(key_id)
        if record is None:
            raise NotFoundError(f"Key not found: {key_id}")
        return record

    async def list(self) -> list[VirtualKeyRecord]:
        return await self._repository.list()

    async def update(self, key_id: str, payload: Any) -> VirtualKeyRecord:
        fields: KeyUpdate = _parse(KeyUpdate, payload)
        record = await self.get(key_id)
        changes = {name: getattr(fields, name) for name in fields.model_fields_set}
        if "cache" in changes:
            changes["cache"] = _cache_field(changes["cache"], record.cache)
        if changes.get("name", "") is None:
            raise InvalidRequestError("name: may not be null")
        if (
            "budget_usd" in changes
            and changes["budget_usd"] is not None
            and not (changes.get("budget_period") or record.budget_period)
        ):
            changes["budget_period"] = "monthly"
        updated = record.with_changes(**changes, updated_at=datetime.now(UTC))
        await self._repository.save(updated)
        self._on_change(key_id)
        return updated

    async def revoke(self, key_id: str) -> VirtualKeyRecord:
        record = await self.get(key_id)
        if record.revoked_at is None:
            now = datetime.now(UTC)
            record = record.with_changes(revoked_at=now, updated_at=now)
            await self._repository.save(record)
        self._on_change(key_id)
        return record


def key_json(record: VirtualKeyRecord, **extra: Any) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat().replace("+00:00", "Z") if value else None

    return {
        "id": record.id,
        "type": "virtual_key",
        "name": record.name,
        "key_prefix": record.key_prefix,
        "budget_usd": float(record.budget_usd) if record.budget_usd is not None else None,
        "budget_period": record.budget_period,
        "rpm": record.rpm,
        "tpm": record.tpm,
        "providers": record.providers,
        "models": record.models,
        "expires_at": iso(record.expires_at),
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
        "revoked_at": iso(record.revoked_at),
        "cache": record.cache,
        **extra,
    }
