"""The usage ledger's journal (``finops.governance.journal``): every journaled row carries an ``entry_id``, so that
replaying the journal of a process that died after its rows were committed inserts none of them twice.

Revision ID: 0007
Revises: 0006_intents
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006_intents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("usage_records") as table:
        table.add_column(sa.Column("entry_id", sa.String(32), nullable=True))
    # Unique, and NULL for rows that were never journaled (batch results, rows from before this revision).
    op.create_index("ux_usage_records_entry_id", "usage_records", ["entry_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_usage_records_entry_id", "usage_records")
    with op.batch_alter_table("usage_records") as table:
        table.drop_column("entry_id")
