"""Keyset pagination shared by the file and batch listings (newest first, like Anthropic's lists)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


async def page_rows(
    connection: AsyncConnection,
    table: sa.Table,
    *,
    owner: str,
    provider: str | None,
    limit: int,
    after_id: str | None,
    before_id: str | None,
) -> tuple[list[sa.Row[Any]], bool]:
    """One page of the owner's live rows, newest first, and whether more lie beyond it.

    ``after_id`` pages towards older rows; ``before_id`` towards newer ones (the page just before that row,
    still returned newest first). A cursor that is not the owner's own live row gives an empty page.
    """
    conditions = [table.c.owner == owner, table.c.deleted_at.is_(None)]
    if provider is not None:
        conditions.append(table.c.provider == provider)
    cursor_id = after_id or before_id
    if cursor_id is not None:
        cursor_seq = await connection.scalar(
            sa.select(table.c.seq).where(table.c.id == cursor_id, table.c.owner == owner)
        )
        if cursor_seq is None:
            return [], False
        conditions.append(table.c.seq < cursor_seq if after_id else table.c.seq > cursor_seq)
    order = table.c.seq.asc() if before_id and not after_id else table.c.seq.desc()
    query = sa.select(table).where(*conditions).order_by(order).limit(limit + 1)
    rows = list((await connection.execute(query)).all())
    has_more = len(rows) > limit
    rows = rows[:limit]
    if before_id and not after_id:
        rows.reverse()
    return rows, has_more
