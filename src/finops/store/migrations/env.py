"""Alembic environment: always run in-process with a connection handed over by ``finops.store.db``."""

from __future__ import annotations

from alembic import context

from finops.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("FinOps migrations run at gateway start-up (finops.store.db.migrate), not from the CLI")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
