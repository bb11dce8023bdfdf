"""Intent log (issue 13): one row per upstream create (batch, file), written before the upstream call and
completed after it, so a crash in between leaves a row the recovery pass can act on.

Revision ID: 0006_intents
Revises: 0005
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_intents"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upstream_intents",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("object_id", sa.String(64), nullable=False),
        sa.Column("upstream_key", sa.String(128), nullable=False),
        sa.Column("request_count", sa.Integer, nullable=True),
        sa.Column("filename", sa.Text, nullable=True),
        sa.Column("size_bytes", sa.BigInteger, nullable=True),
        sa.Column("process", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_upstream_intents_state_created", "upstream_intents", ["state", "created_at"])
    op.create_index("ix_upstream_intents_object", "upstream_intents", ["object_id"])


def downgrade() -> None:
    op.drop_table("upstream_intents")
