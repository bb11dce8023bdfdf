"""Best-effort clean-up after a failure: undoing an upstream effect nobody will see (an uploaded file, a batch
part) must not hide the error that made it necessary."""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from finops.core.errors import GatewayError

logger = logging.getLogger("finops.cleanup")


async def quietly(cleanup: Awaitable[object]) -> None:
    """Await ``cleanup``; a gateway error (the upstream refused or is gone) is expected and dropped, anything
    else is logged and dropped."""
    try:
        await cleanup
    except GatewayError:
        pass
    except Exception:
        logger.exception("clean-up failed")
