"""SQLAlchemy Core tables. The schema itself is owned by the Alembic migrations in ``migrations/``."""

from __future__ import annotations

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
