"""A gateway served on a real loopback port, configured in-process (settings built by the test)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from finops.app import create_app
from finops.config import parse_settings

from .servers import serve_in_thread


@contextmanager
def running_gateway(providers: dict[str, Any], database_url: str, **sections: Any) -> Iterator[str]:
    """Yields the gateway's base URL (clients use ``{base}/anthropic``)."""
    settings = parse_settings({"providers": providers, "database": {"url": database_url}, **sections})
    with serve_in_thread(create_app(settings)) as base_url:
        yield base_url
