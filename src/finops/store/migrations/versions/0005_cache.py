"""Response cache: cached answers (with the semantic layer's vectors), a ``cache`` field on virtual keys, and the
ledger's ``cache_hit`` / ``saved_usd`` columns.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cache_entries",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
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
    )
    op.create_index("ix_cache_entries_expires", "cache_entries", ["expires_at"])
    op.create_index("ix_cache_entries_last_used", "cache_entries", ["last_used_at"])
    with op.batch_alter_table("usage_records") as table:
        table.add_column(sa.Column("cache_hit", sa.Boolean, nullable=False, server_default=sa.false()))
        table.add_column(sa.Column("saved_usd", sa.Numeric(20, 10), nullable=True))
    with op.batch_alter_table("virtual_keys") as table:
        table.add_column(sa.Column("cache", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("virtual_keys") as table:
        table.drop_column("cache")
    with op.batch_alter_table("usage_records") as table:
        table.drop_column("saved_usd")
        table.drop_column("cache_hit")
    op.drop_index("ix_cache_entries_last_used", "cache_entries")
    op.drop_index("ix_cache_entries_expires", "cache_entries")
    op.drop_table("cache_entries")
