"""Governance: virtual keys, the usage ledger and batch cost bookkeeping (reservation, lease, recorded cost).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "virtual_keys",
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
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
    )
    op.create_table(
        "usage_records",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("created_at", _TS, nullable=False),
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
    )
    op.create_index("ix_usage_records_key_created", "usage_records", ["key_id", "created_at"])
    op.create_index("ix_usage_records_created", "usage_records", ["created_at"])
    op.create_table(
        "batch_costs",
        sa.Column("batch_id", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("key_name", sa.String(255), nullable=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("reserved_usd", sa.Numeric(20, 10), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("usage_recorded_at", _TS, nullable=True),
        sa.Column("cost_usd", sa.Numeric(20, 10), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_expires_at", _TS, nullable=True),
    )
    op.create_index("ix_batch_costs_pending", "batch_costs", ["usage_recorded_at", "lease_expires_at"])
    op.create_index("ix_batch_costs_key_pending", "batch_costs", ["key_id", "usage_recorded_at"])


def downgrade() -> None:
    op.drop_table("batch_costs")
    op.drop_table("usage_records")
    op.drop_table("virtual_keys")
