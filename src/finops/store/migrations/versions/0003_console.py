"""Console: the daily usage rollups (backfilled from the ledger), console sessions, latency and status on ledger
rows, and the indexes the console's request list pages with.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_USD = sa.Numeric(20, 10)
_TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
_SUMS = ("requests", "unpriced_requests", *_TOKENS, "cost_usd", "saved_usd")


def _usage() -> sa.TableClause:
    return sa.table(
        "usage_records",
        sa.column("created_at", _TS),
        sa.column("key_id", sa.String),
        sa.column("key_name", sa.String),
        sa.column("provider", sa.String),
        sa.column("model", sa.String),
        sa.column("batch_id", sa.String),
        sa.column("cost_usd", _USD),
        *(sa.column(name, sa.BigInteger) for name in _TOKENS),
    )


def _backfill(table: str, key: tuple[str, ...]) -> None:
    """One rollup row per UTC day and ``key`` columns, from the rows already in the ledger."""
    usage = _usage()
    day: sa.ColumnElement[Any]
    if op.get_bind().dialect.name == "postgresql":
        day = sa.cast(sa.func.timezone("UTC", usage.c.created_at), sa.Date)  # not the session's time zone
    else:
        day = sa.func.date(usage.c.created_at)  # SQLite keeps the UTC wall time the gateway wrote
    expressions: dict[str, sa.ColumnElement[Any]] = {
        "day": day,
        "key_id": sa.func.coalesce(usage.c.key_id, ""),
        "provider": usage.c.provider,
        "model": usage.c.model,
        "batch": usage.c.batch_id.is_not(None),
    }
    groups = [expressions[name] for name in key]
    named = "key_id" in key
    sums = [
        sa.func.count(),
        sa.func.count() - sa.func.count(usage.c.cost_usd),
        *(sa.func.coalesce(sa.func.sum(usage.c[name]), 0) for name in _TOKENS),
        sa.func.coalesce(sa.func.sum(usage.c.cost_usd), 0),
        sa.literal(0),
    ]
    columns = [*key, *(["key_name"] if named else []), *_SUMS]
    select = sa.select(*groups, *([sa.func.max(usage.c.key_name)] if named else []), *sums).group_by(*groups)
    target = sa.table(table, *(sa.column(name) for name in columns))
    op.execute(sa.insert(target).from_select(columns, select))


def _create_rollup(table: str, key: tuple[str, ...]) -> None:
    types: dict[str, sa.types.TypeEngine[Any]] = {
        "day": sa.Date(),
        "key_id": sa.String(64),
        "provider": sa.String(32),
        "model": sa.String(255),
        "batch": sa.Boolean(),
    }
    op.create_table(
        table,
        *(sa.Column(name, types[name], primary_key=True) for name in key),
        *([sa.Column("key_name", sa.String(255), nullable=True)] if "key_id" in key else []),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("unpriced_requests", sa.BigInteger, nullable=False),
        *(sa.Column(name, sa.BigInteger, nullable=False) for name in _TOKENS),
        sa.Column("cost_usd", _USD, nullable=False),
        sa.Column("saved_usd", _USD, nullable=False),
    )
    _backfill(table, key)


def upgrade() -> None:
    op.add_column("usage_records", sa.Column("latency_ms", sa.Integer, nullable=True))
    op.add_column("usage_records", sa.Column("status", sa.SmallInteger, nullable=True))
    op.create_index("ix_usage_records_key_seq", "usage_records", ["key_id", "seq"])
    op.create_index("ix_usage_records_provider_seq", "usage_records", ["provider", "seq"])
    op.create_index("ix_usage_records_model_seq", "usage_records", ["model", "seq"])
    op.create_index(
        "ix_usage_records_unpriced_seq",
        "usage_records",
        ["seq"],
        sqlite_where=sa.text("cost_usd IS NULL"),
        postgresql_where=sa.text("cost_usd IS NULL"),
    )
    _create_rollup("usage_daily", ("day", "key_id", "provider", "model", "batch"))
    op.create_index("ix_usage_daily_key_day", "usage_daily", ["key_id", "day"])
    _create_rollup("usage_daily_models", ("day", "provider", "model", "batch"))
    _create_rollup("usage_daily_keys", ("day", "key_id"))
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("admin_fingerprint", sa.String(64), nullable=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
    )
    op.create_index("ix_console_sessions_expires", "console_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_table("console_sessions")
    op.drop_table("usage_daily_keys")
    op.drop_table("usage_daily_models")
    op.drop_table("usage_daily")
    op.drop_index("ix_usage_records_unpriced_seq", "usage_records")
    op.drop_index("ix_usage_records_model_seq", "usage_records")
    op.drop_index("ix_usage_records_provider_seq", "usage_records")
    op.drop_index("ix_usage_records_key_seq", "usage_records")
    with op.batch_alter_table("usage_records") as batch:
        batch.drop_column("status")
        batch.drop_column("latency_ms")
