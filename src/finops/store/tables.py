"""SQLAlchemy Core tables. The schema itself is owned by the Alembic migrations in ``migrations/``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

# SQLite only autoincrements an ``INTEGER PRIMARY KEY``; PostgreSQL gets a BIGINT identity.
SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

files = sa.Table(
    "files",
    metadata,
    sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("upstream_id", sa.String(512), nullable=False),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("mime_type", sa.String(255), nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("downloadable", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_files_owner_provider_seq", "owner", "provider", "seq"),
)

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("upstream_id", sa.Text, nullable=False),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("request_count", sa.Integer, nullable=False),
    sa.Column("upstream_state", sa.Text, nullable=False),
    sa.Column("processing_status", sa.String(16), nullable=False),
    sa.Column("request_counts", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("cancel_initiated_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_batches_owner_provider_seq", "owner", "provider", "seq"),
)

# Governance (migration 0002): virtual keys, the usage ledger and per-batch cost bookkeeping.
virtual_keys = sa.Table(
    "virtual_keys",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("key_prefix", sa.String(32), nullable=False),
    sa.Column("budget_usd", sa.Numeric(20, 8), nullable=True),
    sa.Column("budget_period", sa.String(16), nullable=True),
    sa.Column("rpm", sa.Integer, nullable=True),
    sa.Column("tpm", sa.Integer, nullable=True),
    sa.Column("providers", sa.Text, nullable=True),
    sa.Column("models", sa.Text, nullable=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("cache", sa.Text, nullable=True),
)

usage_records = sa.Table(
    "usage_records",
    metadata,
    sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("key_id", sa.String(64), nullable=True),
    sa.Column("key_name", sa.String(255), nullable=True),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("model", sa.String(255), nullable=False),
    sa.Column("input_tokens", sa.BigInteger, nullable=False),
    sa.Column("output_tokens", sa.BigInteger, nullable=False),
    sa.Column("cache_read_tokens", sa.BigInteger, nullable=False),
    sa.Column("cache_write_tokens", sa.BigInteger, nullable=False),
    sa.Column("cost_usd", sa.Numeric(20, 10), nullable=True),
    sa.Column("batch_id", sa.String(64), nullable=True),
    sa.Column("request_id", sa.String(128), nullable=True),
    # Migration 0003: what the console's request list shows beside tokens and cost (NULL for batch results).
    sa.Column("latency_ms", sa.Integer, nullable=True),
    sa.Column("status", sa.SmallInteger, nullable=True),
    sa.Column("cache_hit", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("saved_usd", sa.Numeric(20, 10), nullable=True),
    # Migration 0007: the journal entry a row came from (NULL if it was never journaled); replay skips those present.
    sa.Column("entry_id", sa.String(32), nullable=True),
    sa.Index("ux_usage_records_entry_id", "entry_id", unique=True),
    sa.Index("ix_usage_records_key_created", "key_id", "created_at"),
    sa.Index("ix_usage_records_created", "created_at"),
    # The console lists the newest rows first, optionally for one key, provider or model, or only unpriced ones.
    sa.Index("ix_usage_records_key_seq", "key_id", "seq"),
    sa.Index("ix_usage_records_provider_seq", "provider", "seq"),
    sa.Index("ix_usage_records_model_seq", "model", "seq"),
    sa.Index(
        "ix_usage_records_unpriced_seq",
        "seq",
        sqlite_where=sa.text("cost_usd IS NULL"),
        postgresql_where=sa.text("cost_usd IS NULL"),
    ),
)

batch_costs = sa.Table(
    "batch_costs",
    metadata,
    sa.Column("batch_id", sa.String(64), primary_key=True),
    sa.Column("key_id", sa.String(64), nullable=True),
    sa.Column("key_name", sa.String(255), nullable=True),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("reserved_usd", sa.Numeric(20, 10), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("usage_recorded_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("cost_usd", sa.Numeric(20, 10), nullable=True),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_batch_costs_pending", "usage_recorded_at", "lease_expires_at"),
    sa.Index("ix_batch_costs_key_pending", "key_id", "usage_recorded_at"),
)

# Migration 0004: named leases (one holder at a time, with an expiry it renews).
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
)


# Console (migration 0003): daily rollups kept by the ledger writer in the transaction that inserts the usage rows
# (``finops.store.rollups``), so they always equal the ledger. Reports over days read them, never the ledger: the
# full grain for one key's view and the export, and two narrower ones for an admin's views over every key.
def _rollup_sums() -> list[sa.Column[Any]]:
    return [
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("unpriced_requests", sa.BigInteger, nullable=False),
        sa.Column("input_tokens", sa.BigInteger, nullable=False),
        sa.Column("output_tokens", sa.BigInteger, nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger, nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger, nullable=False),
        sa.Column("cost_usd", sa.Numeric(20, 10), nullable=False),
        sa.Column("saved_usd", sa.Numeric(20, 10), nullable=False),  # response-cache savings (issue 15)
    ]


usage_daily = sa.Table(
    "usage_daily",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),  # UTC
    sa.Column("key_id", sa.String(64), primary_key=True),  # "" = requests made without a virtual key
    sa.Column("provider", sa.String(32), primary_key=True),
    sa.Column("model", sa.String(255), primary_key=True),
    sa.Column("batch", sa.Boolean, primary_key=True),
    sa.Column("key_name", sa.String(255), nullable=True),  # the latest name the key was recorded under
    *_rollup_sums(),
    sa.Index("ix_usage_daily_key_day", "key_id", "day"),
)

usage_daily_models = sa.Table(
    "usage_daily_models",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("provider", sa.String(32), primary_key=True),
    sa.Column("model", sa.String(255), primary_key=True),
    sa.Column("batch", sa.Boolean, primary_key=True),
    *_rollup_sums(),
)

usage_daily_keys = sa.Table(
    "usage_daily_keys",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("key_id", sa.String(64), primary_key=True),
    sa.Column("key_name", sa.String(255), nullable=True),
    *_rollup_sums(),
)

console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # sha256 of the cookie's secret: a stolen table logs no one in
    sa.Column("kind", sa.String(8), nullable=False),  # "admin" | "key"
    sa.Column("key_id", sa.String(64), nullable=True),
    sa.Column("admin_fingerprint", sa.String(64), nullable=True),  # sha256 of the admin key the session began with
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_console_sessions_expires", "expires_at"),
)

# Response cache (migration 0005): one row per cached answer; the semantic layer's vector rides along. Times are
# epoch seconds (the cache compares them with its own clock, which tests can move). ``hit`` columns on the ledger
# say which usage rows were answered from here and what that saved.
cache_entries = sa.Table(
    "cache_entries",
    metadata,
    sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
    sa.Column("namespace", sa.String(128), nullable=False),
    sa.Column("exact_key", sa.String(64), nullable=False),
    sa.Column("context_key", sa.String(64), nullable=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("model", sa.String(255), nullable=False),
    sa.Column("message", sa.LargeBinary, nullable=False),
    sa.Column("embedding", sa.String(255), nullable=True),
    sa.Column("vector", sa.LargeBinary, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("last_used_at", sa.Float, nullable=False),
    sa.Column("hits", sa.BigInteger, nullable=False, server_default="0"),
    sa.UniqueConstraint("exact_key", name="uq_cache_entries_exact_key"),
    sa.Index("ix_cache_entries_expires", "expires_at"),
    sa.Index("ix_cache_entries_last_used", "last_used_at"),
)

# Intent log (migration 0006, issue 13): every upstream create (batch with its parts, file) is announced here and
# committed before the upstream call, then marked ``done`` with the object's own row (or ``abandoned``). A row
# left ``creating`` by a dead process is what the recovery pass (``finops.core.recovery``) looks for upstream by
# ``upstream_key`` (sent as metadata, display name or file name where the provider keeps one).
upstream_intents = sa.Table(
    "upstream_intents",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # "batch" | "file"
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("object_id", sa.String(64), nullable=False),  # the gateway ID the object gets (msgbatch_..., file_...)
    sa.Column("upstream_key", sa.String(128), nullable=False),
    sa.Column("request_count", sa.Integer, nullable=True),
    # A file's name and size: what a provider that keeps no key (Anthropic) is searched by.
    sa.Column("filename", sa.Text, nullable=True),
    sa.Column("size_bytes", sa.BigInteger, nullable=True),
    sa.Column("process", sa.String(255), nullable=False),  # finops.core.processes.process_owner()
    sa.Column("state", sa.String(16), nullable=False),  # "creating" | "done" | "abandoned"
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_upstream_intents_state_created", "state", "created_at"),
    sa.Index("ix_upstream_intents_object", "object_id"),
)
